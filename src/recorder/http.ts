/**
 * The recorder's endpoints on the console server (when the console is on too):
 *
 *   GET  /api/recorder        its state: ring size, events, dumps written, where
 *   POST /api/recorder/dump   writes a dump now (trigger "http"); answers { file } (429 when
 *                             rate-limited). Refused unless the request comes from the console's
 *                             own page or a tool (no cross-site Origin / Sec-Fetch-Site).
 *   GET  /api/recording       the ring as it is now, decoded (what the timeline page shows)
 *
 * The console checked the Host header and the token before calling these.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ConsoleRoute } from "../console/server/routes.js";
import type { ActiveRecorder } from "./attach.js";
import { encodeDump } from "./dump.js";
import { decodeRecording } from "./reader.js";

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  res.end(res.req.method === "HEAD" ? undefined : text);
}

/** True for a request a cross-site page could have made (a form post from elsewhere). */
function crossSite(req: IncomingMessage): boolean {
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none") return true;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

/** The route for a running recorder. */
export function recorderRoute(a: ActiveRecorder): ConsoleRoute {
  return (req, res, url) => {
    const path = url.pathname;
    const method = req.method ?? "GET";
    if (path === "/api/recorder") {
      if (method !== "GET" && method !== "HEAD") return false;
      const r = a.recorder.ring;
      json(res, 200, { on: true, bytes: r.bytes, capacity: r.capacity, events: r.length, written: r.written, dir: a.options.dir, dumps: a.scheduler.written, skipped: a.scheduler.skipped });
      return true;
    }
    if (path === "/api/recorder/dump") {
      if (method !== "POST") {
        res.setHeader("allow", "POST");
        json(res, 405, { error: "POST to write a dump" });
        return true;
      }
      if (crossSite(req)) {
        json(res, 403, { error: "a dump can only be asked for from the console's own page or a tool" });
        return true;
      }
      req.resume();
      void a.scheduler.request("http", `POST /api/recorder/dump from ${req.socket.remoteAddress ?? "?"}`).then((r) => {
        if (r.file !== undefined) json(res, 200, { file: r.file, trigger: r.trigger });
        else json(res, r.reason === "rate-limited" ? 429 : 500, { error: r.reason ?? "no dump written" });
      });
      return true;
    }
    if (path === "/api/recording") {
      if (method !== "GET" && method !== "HEAD") return false;
      json(res, 200, decodeRecording(encodeDump(a.recorder, { kind: "http", detail: "live view" }, a.hosts)));
      return true;
    }
    return false;
  };
}
