/** HTTP services as runtime resources: graceful drain in the stop phase of shutdown. */
export { HttpResource, httpResource } from "./resource.js";
export type { HttpDrainResult, HttpResourceOptions, HttpResourceState } from "./resource.js";
