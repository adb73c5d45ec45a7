import ArgumentParser
import Coordinator
import Foundation
import Kernels

/// Writes one step's inputs and results as .npy files, for `bench/torch_step.py --check`.
///
/// inputs: users, items, bank (tables before the step), batch_users, batch_items, negatives (some forced to be
/// accidental hits); results: loss.txt (mean loss), users_after, items_after, bank_after.
struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump", abstract: "Writes one step's inputs and Swift's results for the PyTorch check.")

    @OptionGroup var options: ShapeOptions
    @Option(help: "Directory to write into (created).") var dir = "bench/.check"
    @Option(help: "Negatives replaced by a positive of the batch, to exercise accidental-hit masking.")
    var forcedHits = 32

    func run() throws {
        try options.startBLAS()
        let shape = options.shape
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let w = StepWorkload(shape: shape, path: .kernels)
        let (users, items) = w.minibatch(0)
        var negatives = w.sampleNegatives(0)
        for k in 0 ..< min(forcedHits, negatives.count) { negatives[k * 7 % negatives.count] = items[k % items.count] }
        let (d, U, I, B, K) = (shape.dim, shape.users, shape.items, shape.batch, shape.negatives)
        func table(_ t: EmbeddingTable) -> [Float] { t.withUnsafeValues { Array($0) } }
        try NpyFile.write(table(w.state.users), shape: [U, d], to: "\(dir)/users.npy")
        try NpyFile.write(table(w.state.items), shape: [I, d], to: "\(dir)/items.npy")
        try NpyFile.write(table(w.state.bank.table), shape: [I, d], to: "\(dir)/bank.npy")
        try NpyFile.write(users, shape: [B], to: "\(dir)/batch_users.npy")
        try NpyFile.write(items, shape: [B], to: "\(dir)/batch_items.npy")
        try NpyFile.write(negatives, shape: [K], to: "\(dir)/negatives.npy")
        let loss = w.step(0, negatives: negatives)
        try NpyFile.write(table(w.state.users), shape: [U, d], to: "\(dir)/users_after.npy")
        try NpyFile.write(table(w.state.items), shape: [I, d], to: "\(dir)/items_after.npy")
        try NpyFile.write(table(w.state.bank.table), shape: [I, d], to: "\(dir)/bank_after.npy")
        let meta = """
            {"loss": \(loss), "temperature": \(shape.temperature), "momentum": \(shape.momentum), \
            "lr": \(shape.learningRate), "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}

            """
        try meta.write(toFile: "\(dir)/meta.json", atomically: true, encoding: .utf8)
        print("wrote \(dir): B=\(B) K=\(K) d=\(d) loss=\(loss)")
    }
}
