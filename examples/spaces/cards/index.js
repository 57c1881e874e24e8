// Cards: a small game with hidden hands. Players join by connecting; `deal` gives each player
// cards from a shuffled deck; `play` moves one card from your hand to the table. Everyone sees
// the table and how many cards each player holds; only you see your own hand (privacy is
// decided in view(), which never reads another player's hand). Players are keyed on `who.id`
// (authority + name): `anonymous:bob` and the token user `bob` are two different players.
const SUITS = ['S', 'H', 'D', 'C'];
const RANKS = ['A', '2', '3', '4', '5', '6', '7', '8', '9', '10', 'J', 'Q', 'K'];
// 50 players is what the benchmark plays (issue 19: each view different); a 52-card deck deals one card each at most.
const MAX_PLAYERS = 50;

function freshDeck() {
  const deck = [];
  for (const s of SUITS) for (const r of RANKS) deck.push(r + s);
  for (let i = deck.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [deck[i], deck[j]] = [deck[j], deck[i]];
  }
  return deck;
}

module.exports = {
  init() {
    return { players: [], hands: {}, deck: freshDeck(), table: [], nextPlay: 1 };
  },
  connect(state, who) {
    if (who.authority !== 'anonymous' && who.authority !== 'jwt') return false;
    if (!state.players.some((p) => p.id === who.id)) {
      if (state.players.length >= MAX_PLAYERS) return false;
      state.players.push({ id: who.id, name: who.agent });
      state.hands[who.id] = [];
    }
    return true;
  },
  channels: {
    deal(state, message) {
      const count = message && Number.isInteger(message.count) ? message.count : 5;
      if (count < 1 || count > 10) throw new Error('count must be 1-10');
      if (state.players.length * count > state.deck.length) {
        state.deck = freshDeck();
        state.table = [];
        for (const p of state.players) state.hands[p.id] = [];
      }
      for (const p of state.players) for (let i = 0; i < count; i++) state.hands[p.id].push(state.deck.pop());
    },
    play(state, message, who) {
      const hand = state.hands[who.id];
      if (!hand) throw new Error('you are not playing');
      const idx = hand.indexOf(message && message.card);
      if (idx < 0) throw new Error('that card is not in your hand');
      hand.splice(idx, 1);
      state.table.push({ id: state.nextPlay++, card: message.card, by: who.id });
    },
  },
  view(state, who) {
    return {
      players: state.players.map((p) => ({ id: p.id, name: p.name, cards: (state.hands[p.id] || []).length })),
      table: state.table,
      deckSize: state.deck.length,
      hand: (state.hands[who.id] || []).slice(),
    };
  },
};
