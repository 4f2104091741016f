/** The console's JSON types (model/types.ts), where the runtime's dump type refers to them. */
export type * from "./model/types.js";
