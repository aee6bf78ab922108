/** Fixtures of history answers shared by the history tests. */

/** A healthy stream's state, as the server reports it in pages and inspections. */
export const streamState = {
  stream_id: "5f0c6f1e-0000-4000-8000-000000000001",
  durable_state: "healthy",
  recovery_allowed: true,
  reset_required: false,
  reason: null,
  node_id: null,
  last_transition_at_ms: null,
  authoritative_source: "memory",
  observed_source: "memory"
} as const
