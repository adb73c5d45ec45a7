import ArgumentParser

@main
struct CoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Trains user and item embeddings with InfoNCE against memory-bank negatives on worker processes.",
        discussion: "Without a subcommand, `coordinator [flags]` is `coordinator train [flags]`; `coordinator train --help` lists the training flags.",
        subcommands: [TrainCommand.self, KeygenCommand.self, HealthcheckCommand.self],
        defaultSubcommand: TrainCommand.self)
}
