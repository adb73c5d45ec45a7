import Foundation

/// Environment variables; an empty value counts as unset (compose passes `${VAR:-}` as "").
public enum Environment {
    public static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }
}
