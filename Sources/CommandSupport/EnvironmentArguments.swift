import ArgumentParser

/// Every flag of a command as an environment variable: `MBT_` and the flag's name in capitals with `_` for `-`.
/// `MBT_EPOCHS=8` is `--epochs 8`; `MBT_EVAL_K=10,20` is `--eval-k 10 --eval-k 20`; a flag without a value,
/// `MBT_VERIFY_REPLICAS=1` (or `true`, `yes`), is `--verify-replicas`, and `0`, `false` or `no` leaves it off; for a
/// flag with a `--no-` form (`--live-negatives` / `--no-live-negatives`), `0` gives the `--no-` form.
/// Empty variables count as unset. These arguments go before the command line's, where a flag given again wins.
/// A value is passed as `--name=value`, so that one starting with `-` (`MBT_WEIGHT_DECAY=-1`) stays a value and
/// gets the flag's own error rather than "missing value".
public enum EnvironmentArguments {
    public static let prefix = "MBT_"

    /// The arguments that the environment gives `command` (its flags found by reflection), and a sentence for each
    /// variable that could not be used.
    public static func arguments<Command: ParsableArguments>(for command: Command.Type, environment: [String: String])
        -> (arguments: [String], problems: [String]) {
        var arguments: [String] = []
        var problems: [String] = []
        for (name, kind) in flags(of: command) {
            let variable = prefix + name.uppercased().replacingOccurrences(of: "-", with: "_")
            guard let value = environment[variable], !value.isEmpty else { continue }
            switch kind {
            case .flag, .invertibleFlag:
                switch value.lowercased() {
                case "1", "true", "yes": arguments.append("--" + name)
                case "0", "false", "no": if kind == .invertibleFlag { arguments.append("--no-" + name) }
                default: problems.append("\(variable)=\(value): expected 1 or 0 (true or false) for --\(name)")
                }
            case .option:
                arguments.append("--\(name)=\(value)")
            case .repeatedOption:
                for item in value.split(separator: ",") { arguments.append("--\(name)=\(item)") }
            }
        }
        return (arguments, problems)
    }

    enum Kind { case flag, invertibleFlag, option, repeatedOption }

    /// The long names and kinds of a command's `@Option`s and `@Flag`s, in declaration order; names are the
    /// properties' in kebab case, as ArgumentParser spells them by default.
    static func flags<Command: ParsableArguments>(of command: Command.Type) -> [(String, Kind)] {
        Mirror(reflecting: Command()).children.compactMap { child in
            guard let label = child.label, label.hasPrefix("_") else { return nil }
            let type = String(describing: Swift.type(of: child.value))
            let kind: Kind
            if type.hasPrefix("Flag<Optional<Bool>") {
                kind = .invertibleFlag
            } else if type.hasPrefix("Flag<") {
                kind = .flag
            } else if type.hasPrefix("Option<Array<") {
                kind = .repeatedOption
            } else if type.hasPrefix("Option<") {
                kind = .option
            } else {
                return nil
            }
            return (kebabCase(String(label.dropFirst())), kind)
        }
    }

    static func kebabCase(_ name: String) -> String {
        var out = ""
        for character in name {
            if character.isUppercase {
                out += "-" + character.lowercased()
            } else {
                out.append(character)
            }
        }
        return out
    }
}
