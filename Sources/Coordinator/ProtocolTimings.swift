/// Time limits of the coordinator's protocol, in seconds of an injected monotonic clock.
public struct ProtocolTimings: Sendable, Equatable {
    /// How often heartbeats go to every member.
    public var heartbeatInterval: Double
    /// Silence after which a member is declared dead.
    public var deadAfter: Double
    /// A task's STEP is sent again when its gradient has not come after max(minimumResend, resendFactor × typical
    /// task round trip).
    public var minimumResend: Double
    public var resendFactor: Double

    public init(heartbeatInterval: Double = 0.5, deadAfter: Double = 3, minimumResend: Double = 0.5, resendFactor: Double = 4) {
        precondition(heartbeatInterval > 0 && deadAfter > heartbeatInterval,
                     "deadAfter (\(deadAfter) s) must exceed the heartbeat interval (\(heartbeatInterval) s)")
        self.heartbeatInterval = heartbeatInterval
        self.deadAfter = deadAfter
        self.minimumResend = minimumResend
        self.resendFactor = resendFactor
    }
}
