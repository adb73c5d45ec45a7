import ArgumentParser
import CommandSupport
import Foundation

@main
struct CoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Trains user and item embeddings with InfoNCE against memory-bank negatives on worker processes.",
        discussion: """
            Without a subcommand, `coordinator [flags]` is `coordinator train [flags]`; `coordinator train --help` \
            lists the training flags, each of which may also be set as an environment variable MBT_<FLAG> \
            (MBT_EPOCHS=8 for --epochs 8, MBT_VERIFY_REPLICAS=1 for --verify-replicas).
            """,
        subcommands: [TrainCommand.self, ShardCommand.self, ReportCommand.self, RecommendCommand.self, KeygenCommand.self, HealthcheckCommand.self],
        defaultSubcommand: TrainCommand.self)

    /// Puts the MBT_* environment variables in front of the training flags (a flag on the command line wins).
    static func main() {
        ProcessMemory.keepFreedBlocks()
        var arguments = Array(CommandLine.arguments.dropFirst())
        let first = arguments.first
        // (`shard` reads its own MBT_* variables.)
        let others = ["shard", "keygen", "healthcheck", "report", "recommend", "help"]
        let asksForHelp = arguments.contains { ["-h", "--help", "--experimental-dump-help"].contains($0) }
        if !asksForHelp, first.map({ !others.contains($0) }) ?? true {
            let (fromEnvironment, problems) = EnvironmentArguments.arguments(
                for: TrainCommand.self, environment: ProcessInfo.processInfo.environment)
            if !problems.isEmpty { exit(withError: ValidationError(problems.joined(separator: "\n"))) }
            arguments = first == "train" ? ["train"] + fromEnvironment + arguments.dropFirst() : fromEnvironment + arguments
        }
        main(arguments)
    }
}
