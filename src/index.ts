/** keypool's library: `import { createPool, ChatClient } from "keypool"`. */
export { createPool, DEFAULT_UPSTREAM } from "./create-pool.ts";
export { Pool, type Lease, type AttemptReport, type AddResult } from "./pool/pool.ts";
export type { PoolOptions, HealthOptions, TimeoutOptions } from "./pool/options.ts";
export type { PoolPolicy } from "./pool/policy.ts";
export type { ProbeResult } from "./pool/health/checker.ts";
export type { StrategyName } from "./pool/selection/strategies.ts";
export type { AuditEvent, CredentialInput, CredentialState, CredentialView, Evidence, UsageRecord } from "./pool/types.ts";
export { NoCredentialError, DeadlineError, UpstreamError } from "./pool/errors.ts";
export { KeypoolError, ConfigError, ValidationError, NotFoundError } from "./errors/index.ts";
export { openStore } from "./store/open-store.ts";
export type { Store } from "./store/types.ts";
export { maskSecret } from "./util/mask.ts";
export {
  ChatClient,
  ChatAbortedError,
  ChatTimeoutError,
  ContextTooLongError,
  ChatUpstreamError,
  ConversationUnavailableError,
  registerBackend,
  createWebBackend,
  registerWebProbe,
} from "./chat/index.ts";
export type { ChatClientOptions, SendMessageOptions, ChatReply, ChatProgress, ChatUsage, ChatSession, ClientUsage, ChatBackend, TurnRequest, TurnResult } from "./chat/index.ts";
