/**
 * The seam through which optional parts (the live console, the supervisor) attach to a Runtime.
 *
 * The runtime never imports them: a module that uses only tasks, channels and locks must not pay
 * for an HTTP server, a worker thread or OpenTelemetry. When a runtime is created with one of
 * their options set (or the part's environment variable), the part's module is loaded on demand,
 * synchronously (require() of an ES module, Node >= 20.19), and its `runtimeExtension` attaches
 * to the runtime: it may `defer()` what it must dispose, register stop participants, and
 * contribute to `dump()`.
 */
import { loadOwn } from "../util/own-files.js";

/** What an optional part exports (as `runtimeExtension`) to attach to a runtime. */
export interface RuntimeExtension {
  /**
   * Called once in the Runtime constructor, after the runtime's own fields are set. `option` is
   * the value of the runtime option (undefined when only the environment variable asked for the
   * part). Validates it (throwing a TypeError/RangeError that names `opts.<key>`) and attaches.
   * Returns what the runtime keeps, or undefined when the part decided not to attach.
   */
  attach(runtime: ExtensionHost, option: unknown): AttachedExtension | undefined;
}

/** What the runtime keeps of an attached part. */
export interface AttachedExtension {
  /** Data added to `runtime.dump()` under the part's key. Must not throw. */
  dump?(): unknown;
  /** Human-readable lines for that data, for runMain's dump signal and reports. */
  format?(data: unknown): string;
}

/** The runtime as an extension sees it (structural, so parts do not import the Runtime class). */
export interface ExtensionHost {
  readonly name: string | undefined;
  readonly state: string;
  defer(resource: AsyncDisposable | Disposable | (() => unknown), name?: string): void;
}

/** An optional part: the runtime option that enables it, its module, and its environment switch. */
interface OptionalPart {
  readonly key: string;
  readonly module: string;
  readonly env?: string;
}

/** In attach order: the console first, so the supervisor's episodes reach an attached console. */
const PARTS: readonly OptionalPart[] = [
  { key: "console", module: "console/extension.js", env: "STEWARD_CONSOLE" },
  { key: "recorder", module: "recorder/extension.js", env: "STEWARD_RECORDER" },
  { key: "supervisor", module: "supervisor/extension.js" },
];

/**
 * @internal Attaches every optional part the options (or the environment) ask for. A part whose
 * option is `false` is not loaded, whatever the environment says.
 */
export function attachExtensions(host: ExtensionHost, opts: Readonly<Record<string, unknown>>): [string, AttachedExtension][] {
  const attached: [string, AttachedExtension][] = [];
  for (const part of PARTS) {
    const option = opts[part.key];
    if (option === false) continue;
    if (option === undefined && (part.env === undefined || !process.env[part.env])) continue;
    const ext = (loadOwn(part.module) as { runtimeExtension: RuntimeExtension }).runtimeExtension;
    const a = ext.attach(host, option);
    if (a !== undefined) attached.push([part.key, a]);
  }
  return attached;
}
