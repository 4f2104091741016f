/** How the flight recorder attaches to a Runtime created with `recorder` (runMain's default): see runtime/extension.ts. */
import type { ExtensionHost, RuntimeExtension } from "../runtime/extension.js";
import { attachRecorder, type RecorderHost } from "./attach.js";
import { resolveRecorderOptions } from "./options.js";

/** @internal Loaded by the runtime on demand; `dump().recorder` says what the ring holds and the dumps written. */
export const runtimeExtension: RuntimeExtension = {
  attach(host: ExtensionHost, option: unknown) {
    const options = resolveRecorderOptions(option);
    if (options === undefined) return undefined;
    const a = attachRecorder(host as unknown as RecorderHost, options);
    return {
      dump: () => ({ events: a.recorder.ring.length, bytes: a.recorder.ring.bytes, dir: a.options.dir, dumps: [...a.scheduler.written] }),
      format: (data) => {
        const d = data as { events: number; bytes: number; dir: string; dumps: string[] };
        const dumps = d.dumps.length === 0 ? "none yet" : d.dumps.join(", ");
        return `  flight recorder: ${d.events} events in its ${Math.round(d.bytes / 1024)} KiB ring; dumps (in ${d.dir}): ${dumps}`;
      },
    };
  },
};
