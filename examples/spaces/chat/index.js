// Chat: anyone may join; channel `say` with {text}. Messages carry an id, so the list is sent
// as deltas (only the new message travels), see docs/deltas.md. Presence is a map agent ->
// open streams, shown as is: a join changes one key, so its delta is one key for everyone (a
// sorted list would be rebuilt and resent whole on every join). The view reads neither `who` nor
// the viewer state, and says so (`sharedView`), so the host computes it once per change.
const MAX_TEXT = 500;
const MAX_MESSAGES = 1000;

module.exports = {
  sharedView: true,
  // Other systems (a CI job, a webhook) may post to the room over HTTP: docs/protocol.md.
  httpChannels: ['say'],
  init(arg) {
    // `arg` is optional in the protocol: missing, null or not an object means "no title".
    const title = arg !== null && typeof arg === 'object' && typeof arg.title === 'string' ? arg.title.slice(0, 100) : 'Chat';
    return { title, messages: [], nextId: 1, present: {} };
  },
  connect(state, who) {
    state.present[who.agent] = (state.present[who.agent] || 0) + 1;
    return true;
  },
  disconnect(state, who) {
    const n = (state.present[who.agent] || 1) - 1;
    if (n > 0) state.present[who.agent] = n; else delete state.present[who.agent];
  },
  channels: {
    say(state, message, who, ctx) {
      const text = message && typeof message.text === 'string' ? message.text.trim() : '';
      if (!text) throw new Error('say needs a non-empty text');
      if (text.length > MAX_TEXT) throw new Error(`text is longer than ${MAX_TEXT} characters`);
      state.messages.push({ id: state.nextId++, author: who.agent, text, at: ctx.now });
      if (state.messages.length > MAX_MESSAGES) state.messages.shift();
    },
  },
  view(state) {
    return { title: state.title, messages: state.messages, present: state.present };
  },
};
