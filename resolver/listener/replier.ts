// The one seam between the transports and the front: a listener hands every
// query it reads to QueryHandler.handle() with a Replier that knows how to get an
// answer back to that client. UDP (listener/udp.ts) and TCP (listener/tcp.ts) both
// implement it; the front (front.ts) runs the same request chain for both and
// never knows which transport it serves, beyond the framing of the reply.

/** Where the answer to one query goes. */
export interface Replier {
  /** Bytes of length prefix a reply carries: 0 on UDP, 2 on TCP (RFC 1035 section 4.2.2). */
  readonly framing: 0 | 2;
  /** The client's IP address as Node gives it (for the ACL and logs). */
  readonly address: string;
  /** Sends a reply, already framed, to the query being handled (or, once held, to the held one). */
  send(reply: Buffer): void;
  /**
   * The answer will come later (a miss waiting on a resolution): returns a replier
   * that stays valid after handle() returns; call its send() exactly once. TCP counts
   * the query as outstanding until then (pipelining back-pressure); UDP keeps the
   * socket, address and port.
   */
  hold(): Replier;
}

/** What a listener calls for each query. */
export interface QueryHandler {
  /**
   * One query, without its TCP length prefix. `query` may be a view into a buffer
   * the listener reuses once this returns: copy it to keep it.
   */
  handle(query: Buffer, replier: Replier): void;
}
