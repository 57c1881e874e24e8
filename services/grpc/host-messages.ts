/**
 * @module host-messages
 * TypeScript shapes of proto/host.proto as the loader delivers them (keepCase, longs: Number,
 * defaults, oneofs: `body` names the member that is set). Keep in step with the .proto file.
 */
export interface WhoMsg { agent: string; authority: string }

export interface OpenStreamMsg { space: string; key: string; who: WhoMsg; has_since: boolean; since: number; viewer_state_json: string; suspect_hosts: string[] }
export interface SendMessageMsg { stream: number; channel: string; message_json: string; dedupe: string }
export interface UpdateViewerMsg { stream: number; viewer_state_json: string }
export interface CloseStreamMsg { stream: number }
export interface CreateDocumentMsg { space: string; key: string; who: WhoMsg; arg_json: string }
export interface DeleteDocumentMsg { space: string; key: string; who: WhoMsg }
export interface ListDocumentsMsg { space: string; who: WhoMsg; after: string; limit: number }
export interface PostMessageMsg { space: string; key: string; who: WhoMsg; channel: string; message_json: string; dedupe: string }

export type ProxyEnvelope =
  | { id: number; body?: 'open'; open: OpenStreamMsg }
  | { id: number; body?: 'send'; send: SendMessageMsg }
  | { id: number; body?: 'update'; update: UpdateViewerMsg }
  | { id: number; body?: 'close'; close: CloseStreamMsg }
  | { id: number; body?: 'create'; create: CreateDocumentMsg }
  | { id: number; body?: 'delete'; delete: DeleteDocumentMsg }
  | { id: number; body?: 'list'; list: ListDocumentsMsg }
  | { id: number; body?: 'post'; post: PostMessageMsg };

export interface ProxyBatch { items: ProxyEnvelope[] }

/** `streams` non-empty: a grouped delta for every stream listed (envelope id 0); see proto/host.proto. */
export interface DeltaMsg { data_json: string; seq: number; reset: boolean; streams?: number[] }

/** Multiplex call metadata by which a proxy announces what it understands beyond the base protocol. */
export const WIRE_FEATURES_KEY = 'adama-wire';
/** The proxy reads `Delta.streams`: the host may send one envelope per (document, distinct delta). */
export const GROUPED_DELTAS = 'grouped-deltas';
export interface FailureMsg { code: number; message: string; retry: boolean; owner: string }

export type HostEnvelope =
  | { id: number; body?: 'delta'; delta: DeltaMsg }
  | { id: number; body?: 'closed'; closed: FailureMsg }
  | { id: number; body?: 'reply'; reply: ReplyMsg }
  | { id: number; body?: 'failure'; failure: FailureMsg };

export interface ReplyMsg { seq: number; result_json: string }

export interface HostBatch { items: HostEnvelope[] }

export interface DrainRequest { timeout_ms: number }
export interface DrainReply { documents_remaining: number; drained: boolean }
export interface CancelDrainReply { resumed: boolean }
/** documents_owned counts `directory` rows bound to the host; a lower bound only when documents_owned_known is false. */
export interface StatusReply { host_id: string; draining: boolean; documents_loaded: number; documents_owned: number; documents_owned_known: boolean }
