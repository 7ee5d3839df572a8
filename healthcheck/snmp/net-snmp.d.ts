// net-snmp ships no type declarations. This is the small surface the healthcheck
// agent uses; everything else stays untyped on purpose.
declare module 'net-snmp' {
  const snmp: {
    createAgent(options: Record<string, unknown>, callback: (error: (Error & { rinfo?: { address: string; port: number } }) | null, data?: unknown) => void): any;
    createSession(target: string, community: string, options?: Record<string, unknown>): any;
    createReceiver(options: Record<string, unknown>, callback: (error: Error | null, data?: any) => void): any;
    ObjectType: Record<string, number>;
    MibProviderType: Record<string, number>;
    MaxAccess: Record<string, number>;
    AccessControlModelType: Record<string, number>;
    AccessLevel: Record<string, number>;
    SecurityLevel: Record<string, number>;
    AuthProtocols: Record<string, number>;
    PrivProtocols: Record<string, number>;
    Version2c: number;
    Version3: number;
  };
  export default snmp;
}
