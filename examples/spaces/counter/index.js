// Counter: the smallest space. Channel `add` with {by} (default 1).
module.exports = {
  init(arg) { return { value: typeof arg.start === 'number' ? arg.start : 0 }; },
  channels: {
    add(state, message) {
      const by = message && typeof message.by === 'number' ? message.by : 1;
      if (!Number.isFinite(by)) throw new Error('by must be a finite number');
      state.value += by;
    },
  },
  view(state) { return { value: state.value }; },
};
