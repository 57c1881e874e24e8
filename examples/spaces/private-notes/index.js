// Private notes: each signed-in user keeps notes only they can see. The proxy may accept
// anonymous identities (it does in `adama dev`), but this space does not: connect() refuses any
// viewer whose authority is "anonymous", so only principals with a verified token get in. Notes
// are keyed on `who.id` (authority + name), never on the name alone.
const MAX_NOTES = 200;
const MAX_TEXT = 1000;

module.exports = {
  init() {
    return { notes: {}, nextId: 1 };
  },
  connect(state, who) {
    return who.authority !== 'anonymous';
  },
  channels: {
    write(state, message, who, ctx) {
      const text = message && typeof message.text === 'string' ? message.text.trim() : '';
      if (!text || text.length > MAX_TEXT) throw new Error(`a note needs 1-${MAX_TEXT} characters`);
      const mine = state.notes[who.id] || (state.notes[who.id] = []);
      mine.push({ id: state.nextId++, text, at: ctx.now });
      if (mine.length > MAX_NOTES) mine.shift();
    },
  },
  view(state, who) {
    return { notes: (state.notes[who.id] || []).slice() };
  },
};
