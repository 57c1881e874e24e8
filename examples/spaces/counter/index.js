// Counter: the smallest space. Channel `add` with {by} (default 1).
module.exports = {
  sharedView: true,
  // `arg` is optional in the protocol: missing, null or anything without a numeric start means 0.
  init(arg) { return { value: arg !== null && typeof arg === 'object' && Number.isFinite(arg.start) ? arg.start : 0 }; },
  channels: {
    add(state, message) {
      const by = message && typeof message.by === 'number' ? message.by : 1;
      if (!Number.isFinite(by)) throw new Error('by must be a finite number');
      state.value += by;
    },
  },
  view(state) { return { value: state.value }; },
};
