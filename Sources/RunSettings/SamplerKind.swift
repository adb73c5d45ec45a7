/// How bank negatives are drawn. Raw values are stable (they cross the network in WELCOME).
public enum SamplerKind: UInt8, Sendable, CaseIterable {
    case uniform = 0, popularity = 1
}
