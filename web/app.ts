/**
 * The demo page: a chat room and a card game with hidden hands over the client SDK. Two tabs
 * (each with its own name, kept per tab) see each other's changes live.
 */
import { AdamaClient, AdamaFailure, type AdamaDocument } from '../client/index';
import type { Json } from '../services/shared/json';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const name = params.get('name') ?? sessionStorage.getItem('adama.name') ?? `guest${Math.floor(Math.random() * 9000 + 1000)}`;
const room = params.get('room') ?? 'lobby';
sessionStorage.setItem('adama.name', name);
$<HTMLInputElement>('name').value = name;
$<HTMLInputElement>('room').value = room;
for (const id of ['name', 'room']) {
  $<HTMLInputElement>(id).addEventListener('change', () => {
    const next = new URLSearchParams({ name: $<HTMLInputElement>('name').value.trim() || name, room: $<HTMLInputElement>('room').value.trim() || room });
    sessionStorage.setItem('adama.name', next.get('name')!);
    location.search = next.toString();
  });
}

const client = new AdamaClient({ url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`, identity: `anonymous:${name}` });
const EXISTS = 3003;

async function open(space: string, onView: (v: Json) => void, errorEl: string): Promise<AdamaDocument> {
  await client.createDocument(space, room, { title: `Room ${room}` }).catch((e: AdamaFailure) => { if (e.code !== EXISTS) throw e; });
  const doc = client.connect(space, room, { onView, onError: (e) => ($(errorEl).textContent = `${e.code}: ${e.message}`) });
  await doc.ready;
  setStatus(true);
  return doc;
}

function setStatus(live: boolean): void {
  const el = $('status');
  el.textContent = live ? `live as ${name}` : 'reconnecting…';
  el.className = `status ${live ? 'live' : 'down'}`;
}

function el(tag: string, cls: string, text: string): HTMLElement {
  const e = document.createElement(tag);
  e.className = cls;
  e.textContent = text;
  return e;
}

type ChatView = { messages: { id: number; author: string; text: string }[]; present: Record<string, number> };
type CardsView = { players: { id: string; cards: number }[]; table: { id: number; card: string; by: string }[]; hand: string[]; deckSize: number };
const cardClass = (c: string) => `card${/[HD]$/.test(c) ? ' red' : ''}`;

void (async () => {
  const chat = await open('chat', (v) => {
    const view = v as unknown as ChatView;
    const box = $('messages');
    const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 5;
    box.replaceChildren(...view.messages.map((m) => { const d = el('div', 'msg', ''); d.append(el('b', '', m.author), `: ${m.text}`); return d; }));
    if (atBottom) box.scrollTop = box.scrollHeight;
    $('present').textContent = `· here: ${Object.keys(view.present).sort().join(', ')}`;
  }, 'chat-error');
  $('say').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = $<HTMLInputElement>('text');
    const text = input.value;
    input.value = '';
    chat.send('say', { text }).then(() => ($('chat-error').textContent = ''), (e: AdamaFailure) => ($('chat-error').textContent = `${e.code}: ${e.message}`));
  });

  const cards = await open('cards', (v) => {
    const view = v as unknown as CardsView;
    $('players').textContent = `Players: ${view.players.map((p) => `${p.id} (${p.cards})`).join(', ')}`;
    $('table').replaceChildren(...view.table.map((t) => { const c = el('span', cardClass(t.card), t.card); c.title = `played by ${t.by}`; return c; }));
    $('hand').replaceChildren(...view.hand.map((card) => {
      const b = el('button', cardClass(card), card) as HTMLButtonElement;
      b.onclick = () => cards.send('play', { card }).catch((e: AdamaFailure) => ($('cards-error').textContent = `${e.code}: ${e.message}`));
      return b;
    }));
    $('deck').textContent = `${view.deckSize} cards left in the deck`;
  }, 'cards-error');
  $('deal').addEventListener('click', () => {
    cards.send('deal', { count: 5 }).catch((e: AdamaFailure) => ($('cards-error').textContent = `${e.code}: ${e.message}`));
  });
})().catch((e: unknown) => { $('chat-error').textContent = String((e as Error).message ?? e); setStatus(false); });
