/** Shared helpers for the HTTP drain tests (not a test file itself). */
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Listens on 127.0.0.1 on a free port; resolves with the port. */
export function listen(server: Server, backlog = 511): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: 0, host: "127.0.0.1", backlog }, () => resolve((server.address() as AddressInfo).port));
  });
}

/** The soft limit on open files (Linux), or undefined when it cannot be read. */
export function openFileLimit(): number | undefined {
  try {
    const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync("/proc/self/limits", "utf8"));
    if (m === null) return undefined;
    return m[1] === "unlimited" ? Infinity : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** A raw TCP client that collects everything the server sends until it closes. */
export interface RawClient {
  socket: Socket;
  data(): string;
  /** Resolves once what was received contains `text`. */
  waitFor(text: string | RegExp): Promise<void>;
  /** Resolves when the server closed the connection (at what performance.now() said then). */
  closed: Promise<number>;
  send(s: string): void;
}

export function rawClient(port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let buf = "";
    const waiters: (() => void)[] = [];
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      buf += d;
      for (const w of waiters.splice(0)) w();
    });
    const closed = new Promise<number>((res) => {
      socket.on("close", () => {
        res(performance.now());
        for (const w of waiters.splice(0)) w();
      });
    });
    socket.on("error", () => {}); // a reset shows as close
    socket.once("connect", () => {
      resolve({
        socket,
        data: () => buf,
        closed,
        send: (s) => void socket.write(s),
        waitFor(text) {
          return new Promise<void>((res, rej) => {
            const check = (): void => {
              if (typeof text === "string" ? buf.includes(text) : text.test(buf)) res();
              else if (socket.destroyed) rej(new Error(`closed before ${String(text)}; got ${JSON.stringify(buf)}`));
              else waiters.push(check);
            };
            check();
          });
        },
      });
    });
    socket.once("error", reject);
  });
}

/** Tries to open a new connection: "refused", or "connected" (then closed again). */
export function tryConnect(port: number): Promise<"refused" | "connected"> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve("connected");
    });
    s.once("error", () => resolve("refused"));
  });
}

export function get(path: string, extra = ""): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;
}

export { deferred, tick as delay } from "../helpers/timing.js";
