/**
 * Routes other optional parts add to every console server (the flight recorder's `/api/recorder`
 * endpoints). A leaf module: registering a route loads nothing of the console.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * Handles one request under its prefix, after the console checked the Host header and the token.
 * Returns false to let the console answer 404.
 */
export type ConsoleRoute = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean;

/** Registered routes by path prefix ("/api/recorder"). */
export const consoleRoutes = new Map<string, ConsoleRoute>();

/** Adds (or replaces) the route for `prefix`; dispose the result to remove it. */
export function registerConsoleRoute(prefix: string, route: ConsoleRoute): Disposable {
  consoleRoutes.set(prefix, route);
  return {
    [Symbol.dispose]: () => {
      if (consoleRoutes.get(prefix) === route) consoleRoutes.delete(prefix);
    },
  };
}
