/** Fuzz targets: mpsc, oneshot, broadcast and watch channels (src/channel). */
import { broadcast, channel, ChannelClosedError, LaggedError, oneshot, unboundedChannel, watch } from "../../../src/index.js";
import { anything, isFn, isInt, isSignal, options, param, type Target } from "../harness.js";

const signalOpts = () => options("opts", { signal: { accepts: isSignal } });
const defined = (v: unknown): boolean => v !== undefined;
const value = () => param("value", defined, () => 1);
const closed = (e: unknown): boolean => e instanceof ChannelClosedError;

function full(): ReturnType<typeof channel<number>> {
  const c = channel<number>(1);
  c[0].trySend(1);
  return c;
}

export const channelTargets: Target<never>[] = [
  { area: "channel", name: "channel(capacity)", params: [param("capacity", isInt(1), () => 4)], call: ([n]) => channel(n as never) },
  { area: "channel", name: "unboundedChannel()", params: [], call: () => unboundedChannel() },
  { area: "channel", name: "sender.send(value, opts)", params: [value(), signalOpts()], call: ([v, o]) => channel(4)[0].send(v, o as never) },
  { area: "channel", name: "full sender.send(value, opts)", params: [value(), signalOpts()], call: ([v, o]) => full()[0].send(v as never, o as never) },
  { area: "channel", name: "unbounded sender.send(value, opts)", params: [value(), signalOpts()], call: ([v, o]) => unboundedChannel()[0].send(v, o as never) },
  { area: "channel", name: "sender.trySend(value)", params: [value()], call: ([v]) => channel(4)[0].trySend(v) },
  { area: "channel", name: "sender.reserve(opts)", params: [signalOpts()], call: ([o]) => full()[0].reserve(o as never) },
  { area: "channel", name: "sender.closed(opts)", params: [signalOpts()], call: ([o]) => channel(4)[0].closed(o as never) },
  {
    area: "channel",
    name: "permit.send(value)",
    params: [value()],
    call: async ([v]) => {
      const [tx] = channel(4);
      const p = await tx.reserve();
      p.send(v);
    },
  },
  {
    area: "channel",
    name: "released permit.send(value)",
    params: [value()],
    call: async ([v]) => {
      const [tx] = channel(4);
      const p = await tx.reserve();
      p.release();
      p.release();
      p.send(v);
    },
    expected: (e) => e instanceof ChannelClosedError && /released|used/.test(e.message),
  },
  {
    area: "channel",
    name: "closed sender.send(value, opts)",
    params: [value(), signalOpts()],
    call: ([v, o]) => {
      const [tx] = channel(4);
      tx.close();
      return tx.send(v, o as never);
    },
    expected: closed,
    check: (o) => (o.kind === "rejected" ? undefined : `expected ChannelClosedError, got ${o.kind}`),
  },
  {
    area: "channel",
    name: "sender.send(value, opts) after the receiver closed",
    params: [value(), signalOpts()],
    call: ([v, o]) => {
      const [tx, rx] = channel(4);
      rx.close();
      return tx.send(v, o as never);
    },
    expected: closed,
    check: (o) => (o.kind === "rejected" ? undefined : `expected ChannelClosedError, got ${o.kind}`),
  },
  { area: "channel", name: "receiver.recv(opts)", params: [signalOpts()], call: ([o]) => channel(4)[1].recv(o as never) },
  { area: "channel", name: "receiver.recvMany(max, opts)", params: [param("max", isInt(1), () => 2), signalOpts()], call: ([n, o]) => full()[1].recvMany(n as never, o as never) },
  {
    area: "channel",
    name: "receiver.recv(opts) once every sender closed",
    params: [signalOpts()],
    call: ([o]) => {
      const [tx, rx] = channel(4);
      tx.close();
      return rx.recv(o as never);
    },
    check: (o) => (o.kind === "resolved" && o.value === undefined ? undefined : `expected undefined, got ${o.kind}`),
    expected: (e) => e instanceof DOMException,
  },
  // oneshot
  { area: "oneshot", name: "oneshot sender.send(value)", params: [value()], call: ([v]) => oneshot()[0].send(v) },
  { area: "oneshot", name: "oneshot receiver.recv(opts)", params: [signalOpts()], call: ([o]) => oneshot()[1].recv(o as never) },
  { area: "oneshot", name: "oneshot sender.closed(opts)", params: [signalOpts()], call: ([o]) => oneshot()[0].closed(o as never) },
  {
    area: "oneshot",
    name: "oneshot receiver.recv(opts) after the value was received",
    params: [signalOpts()],
    call: async ([o]) => {
      const [tx, rx] = oneshot<number>();
      tx.send(1);
      await rx.recv();
      return rx.recv(o as never);
    },
    expected: closed,
    check: (o) => (o.kind === "rejected" ? undefined : `expected ChannelClosedError, got ${o.kind}`),
  },
  {
    area: "oneshot",
    name: "oneshot receiver.recv(opts) after the sender closed",
    params: [signalOpts()],
    call: ([o]) => {
      const [tx, rx] = oneshot<number>();
      tx.close();
      return rx.recv(o as never);
    },
    expected: closed,
    check: (o) => (o.kind === "rejected" ? undefined : `expected ChannelClosedError, got ${o.kind}`),
  },
  // broadcast
  { area: "channel", name: "broadcast(capacity)", params: [param("capacity", isInt(1), () => 4)], call: ([n]) => broadcast(n as never) },
  { area: "channel", name: "broadcast sender.send(value)", params: [value()], call: ([v]) => broadcast(4)[0].send(v) },
  { area: "channel", name: "broadcast receiver.recv(opts)", params: [signalOpts()], call: ([o]) => broadcast(4)[1].recv(o as never) },
  {
    area: "channel",
    name: "lagged broadcast receiver.recv(opts)",
    params: [signalOpts()],
    call: ([o]) => {
      const [tx, rx] = broadcast<number>(1);
      tx.send(1);
      tx.send(2);
      return rx.recv(o as never);
    },
    expected: (e) => e instanceof LaggedError,
  },
  {
    area: "channel",
    name: "closed broadcast sender.send(value)",
    params: [value()],
    call: ([v]) => {
      const [tx] = broadcast(4);
      tx.close();
      return tx.send(v);
    },
    expected: closed,
  },
  // watch
  { area: "channel", name: "watch(initial)", params: [param("initial", anything, () => 1)], call: ([v]) => watch(v) },
  { area: "channel", name: "watch sender.send(value)", params: [param("value", anything, () => 1)], call: ([v]) => watch(0)[0].send(v as never) },
  { area: "channel", name: "watch sender.sendModify(fn)", params: [param("fn", isFn, () => (v: number) => v + 1)], call: ([fn]) => watch(0)[0].sendModify(fn as never) },
  { area: "channel", name: "watch sender.closed(opts)", params: [signalOpts()], call: ([o]) => watch(0)[0].closed(o as never) },
  { area: "channel", name: "watch receiver.changed(opts)", params: [signalOpts()], call: ([o]) => watch(0)[1].changed(o as never) },
  { area: "channel", name: "watch receiver.waitFor(pred, opts)", params: [param("pred", isFn, () => () => false), signalOpts()], call: ([f, o]) => watch(0)[1].waitFor(f as never, o as never) },
  {
    area: "channel",
    name: "closed watch receiver.changed(opts)",
    params: [signalOpts()],
    call: ([o]) => {
      const [tx, rx] = watch(0);
      tx.close();
      return rx.changed(o as never);
    },
    check: (o) => (o.kind === "resolved" && o.value === false ? undefined : `expected false, got ${o.kind}`),
    expected: (e) => e instanceof DOMException,
  },
];
