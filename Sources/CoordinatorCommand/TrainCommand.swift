import ArgumentParser
import CommandSupport
import Coordinator
import Dataset
import Foundation
import Kernels
import Logging
import RunSettings
import Telemetry
import Transport

/// `coordinator train`, the default subcommand: `coordinator --workers 3 …` runs it.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Trains user and item embeddings with InfoNCE against memory-bank negatives on worker processes (the default).",
        discussion: """
            Loads the interactions, waits for --workers workers (or starts --spawn-workers of them on this machine), \
            runs synchronous steps, evaluates Recall@K / NDCG@K after every epoch, and writes metrics.jsonl, \
            user/item embeddings (.npy), id mappings and checkpoints to --output.
            """)

    // Data
    @Option(help: "`synthetic` (built-in generator), a LightGCN directory (train.txt, test.txt), a MovieLens u.data / ratings.dat, or a .csv/.tsv of user,item[,timestamp].")
    var dataset = "synthetic"
    @Option(help: "Format of --dataset: auto, lightgcn, movielens, delimited.")
    var format = "auto"
    @Option(help: "Train/test split for MovieLens and CSV data: leave-last-out, or ratio:F (fraction kept for training, by time).")
    var split = "leave-last-out"
    @Option(help: "Synthetic data: number of users.") var syntheticUsers = 2000
    @Option(help: "Synthetic data: number of items.") var syntheticItems = 1000
    @Option(help: "Synthetic data: distinct training items per user (each user also gets \(SyntheticSpec().testPerUser) test items).")
    var syntheticInteractionsPerUser = SyntheticSpec().interactionsPerUser

    // Cluster
    @Option(help: "Endpoint the coordinator binds, tcp://HOST:PORT (port 0 picks a free port).")
    var bind = RunDefaults.bind
    @Option(help: "Ready workers to wait for before training starts (default: --spawn-workers, else 1).")
    var workers: Int?
    @Option(help: "Start this many worker processes on this machine.")
    var spawnWorkers = 0
    @Option(help: "The worker executable for --spawn-workers (default: `worker` beside this executable).")
    var workerExecutable: String?
    @Option(help: "A state shard's address (`coordinator shard`), once per shard in shard order, at least two: the shards hold the parameters and the coordinator none. Checkpoints are each shard's file (its --state-dir) and the coordinator's list of them in --output.")
    var shard: [String] = []
    @Option(help: "Start this many state shards on this machine (`coordinator shard`), as --shard would name them; their checkpoints go to --output.")
    var spawnShards = 0
    @Option(help: "CurveZMQ with --shard: a shard's public key file (its NAME.pub), once for all shards or once per --shard in the same order (also MBT_SHARD_PUBLIC_KEY).")
    var shardPublicKey: [String] = []
    @Option(help: "Seconds to wait for a shard's answer before the run stops.")
    var shardTimeout = 120.0
    @Option(help: "Seconds of silence after which a worker is declared dead.")
    var heartbeatTimeout = 3.0
    @Option(help: "Seconds a task may go unanswered after it was assigned before its worker is treated as hung (declared dead; the task goes to another worker).")
    var taskTimeout = PeerLimits().taskDeadline
    @Option(help: "Workers admitted at once; a further HELLO is refused.")
    var maxWorkers = PeerLimits().maxWorkers
    @Option(help: "Largest message accepted from a worker, in bytes (default: derived from the minibatch size).")
    var maxMessageBytes: Int?
    @Option(help: "Fault injection on the coordinator's sends, e.g. drop=0.05,duplicate=0.05,corrupt=0.01,seed=7 (also MBT_FAULTS).")
    var faults: String?
    @Flag(help: "Workers send a hash of the STEP rows each gradient was computed from; the coordinator checks it against the rows it sent.")
    var verifyReplicas = false
    @Option(help: "CurveZMQ: this coordinator's secret key file (from `coordinator keygen`); turns on encryption and admits only --authorized-keys (also MBT_CURVE_SECRET_KEY).")
    var curveSecretKey: String?
    @Option(help: "CurveZMQ: the workers' public keys, a file with one per line or a directory of *.pub files (also MBT_AUTHORIZED_KEYS).")
    var authorizedKeys: String?
    @Option(help: "Rewrite this file every second while the coordinator runs, for `coordinator healthcheck` (also MBT_STATUS_FILE).")
    var statusFile: String?
    @Option(help: "Serve Prometheus metrics at http://HOST:PORT/metrics, e.g. 0.0.0.0:9464 (port 0 picks a free port; also MBT_METRICS_ADDRESS; default: none).")
    var metricsAddress: String?

    // Model and loss
    @Option(help: "A named set of settings: \(TrainingPreset.all.map { "`\($0.name)` (\($0.summary))" }.joined(separator: "; ")). Flags given as well override it.")
    var preset: String?
    @Option(help: "Training epochs (default \(RunDefaults.epochs)).") var epochs: Int?
    @Option(help: "Embedding dimension.") var dim = RunDefaults.dim
    @Option(help: "Examples per global step (default \(RunDefaults.batchSize)).") var batchSize: Int?
    @Option(help: "Pairs per minibatch, the unit of work of one worker (default: batch size / workers).")
    var minibatchSize: Int?
    @Option(help: "Loss: bank-infonce, in-batch, mnr, bpr, ccl (cosine contrastive loss against the bank negatives).") var loss = "bank-infonce"
    @Option(help: "CCL: margin of the negative term.") var cclMargin = RunDefaults.cclMargin
    @Option(help: "CCL: weight of the mean negative term.") var cclNegativeWeight = RunDefaults.cclNegativeWeight
    @Option(help: "Similarity: cosine or dot (default: cosine; dot for mnr and bpr).") var similarity: String?
    @Option(help: "Softmax temperature τ (default \(RunDefaults.temperature); \(String(format: "%g", Double(LossSettings.defaultTemperature(for: .mnr)))) for mnr).") var temperature: Float?
    @Option(help: "Positive temperature τ⁺: the bilateral softmax loss (BSL), −s⁺/τ⁺ + log Σ exp(s⁻/τ) with the positive outside the sum; τ⁺ > τ pulls positives less than it pushes negatives (softmax losses; default: plain InfoNCE).")
    var positiveTemperature: Float?
    @Option(help: "Bank negatives K per minibatch (default \(RunDefaults.negatives)).") var negatives: Int?
    @Option(help: "Negative sampler: uniform or popularity (count^alpha).") var sampler = "uniform"
    @Option(help: "Exponent of the popularity sampler.") var popularityAlpha = RunDefaults.popularityAlpha
    @Flag(help: "Subtract log(K·q) from negative logits (sampled-softmax correction).") var logq = false
    @Flag(help: "In-batch loss: also use bank negatives.") var mixInBatch = false
    @Flag(inversion: .prefixedNo, help: "Read the K negatives from the live item table and give them gradients (sampled softmax) instead of using constant bank rows (default: off).")
    var liveNegatives: Bool?
    @Flag(inversion: .prefixedNo, help: "Read the K negatives from the memory bank but give their gradients to the live item rows (the bank as a stale read of the item table: each bank row at its live row's length); the bank then follows every item row that gets a gradient. Turns off a preset's live negatives (default: off).")
    var trainedBankNegatives: Bool?
    @Option(help: "Hard negatives M per pair, mined from the memory bank: each pair also scores the M items of a fresh uniform pool (--hard-negative-pool) closest to its user on the bank, its user's training items left out, read at their live rows' lengths with gradients into the live rows (needs --live-negatives or --trained-bank-negatives; workers then receive every user's training items when they join; default: 0, none).")
    var hardNegatives: Int?
    @Option(help: "Items drawn per minibatch among which the hard negatives are chosen (default \(RunDefaults.hardNegativePool) with --hard-negatives).")
    var hardNegativePool: Int?
    @Option(help: "The closest pool items each pair passes over before it takes its hard negatives: the very closest unseen items are the likeliest to be ones the user would choose (default 0).")
    var hardNegativeSkip: Int?
    @Flag(help: "Keep negatives equal to the row's positive item (default: removed).") var keepAccidentalHits = false
    @Flag(inversion: .prefixedNo, help: "Also remove every negative (and, in-batch, every other positive) that the row's user has in the training data, not only the row's own positive: no false negatives from the user's history. Workers then receive every user's training items when they join (default: off).")
    var maskSeenItems: Bool?
    @Option(help: "Memory-bank momentum m.") var momentum = RunDefaults.momentum
    @Option(help: "Standard deviation of the initial embeddings.") var initStd = RunDefaults.initStd

    // Optimiser
    @Option(help: "Optimizer: adam (lazy: only the rows in the gradient move, like torch SparseAdam), dense-adam (every row each step, like torch Adam on a dense table: absent rows keep moving on their momentum, taken when a row is next read), sgd, adagrad (default: adam).")
    var optimizer: String?
    @Option(help: "Learning rate (default \(RunDefaults.learningRate)).") var lr: Float?
    @Option(help: "L2 regularisation on the rows in each step's gradient (default 0; the quality preset sets it from the data's density).") var weightDecay: Float?
    @Option(help: "Learning-rate schedule over the planned epochs: constant, cosine (half a cosine down to lr/100) or cosine:F (down to F·lr) (default: constant).")
    var lrSchedule: String?

    // Run
    @Option(help: "Seed for initialisation, shuffling and negative sampling.") var seed = RunDefaults.seed
    @Option(help: "Cutoff K of Recall@K / NDCG@K; repeat for several.") var evalK = RunDefaults.evaluationKs
    @Option(help: "Evaluate each epoch on a sample of this many test users, drawn with --seed (the same users every epoch), and report the figures as a sample's; 0: all test users (default 0).")
    var evaluationUsers: Int?
    @Option(help: "Evaluate every N epochs, and always the last epoch; the epochs between record their loss, speed and audit only (an early stop's patience still counts epochs) (default 1: every epoch).")
    var evalEvery: Int?
    @Option(help: "Hold out this fraction of each user's training items (seeded) as a validation split; every epoch is also scored on it, and the best epoch's embeddings are written as best_*.npy (0: no split).")
    var validationFraction: Double?
    @Option(help: "Early stopping: end training after this many epochs without a better validation Recall@K (0: never; needs --validation-fraction).")
    var patience: Int?
    @Option(help: "End training with the epoch in progress once this many seconds have passed since the first step.")
    var timeLimit: Double?
    @Option(help: "Directory for metrics.jsonl, embeddings, id mappings and checkpoints.") var output = RunDefaults.outputDirectory
    @Option(help: "Also checkpoint every N steps (0: at epoch ends only).") var checkpointEvery = 0
    @Flag(help: "Continue from the newest valid checkpoint in --output.") var resume = false
    @Option(help: "OpenBLAS threads for evaluation in this process.") var blasThreads = 1
    @Option(help: "The OpenBLAS build for this process and the workers it spawns: \(BLAS.Choice.help).")
    var blas = "auto"
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error (got \(logLevel))")
        }
        guard spawnWorkers >= 0 else { throw ValidationError("--spawn-workers must be 0 or more") }
        guard spawnShards == 0 || (spawnShards >= 2 && shard.isEmpty) else {
            throw ValidationError(spawnShards == 1 || spawnShards < 0
                ? "--spawn-shards must be 2 or more (got \(spawnShards)); without it the coordinator holds the state"
                : "give either --spawn-shards or --shard, not both")
        }
        guard blasThreads >= 1 else { throw ValidationError("--blas-threads must be at least 1") }
        if dataset == "synthetic" { try validateSynthetic() }
        // (`main` has put the MBT_* variables among the flags already.)
        if (curveSecretKey == nil) != (authorizedKeys == nil) {
            throw ValidationError("CurveZMQ needs both --curve-secret-key and --authorized-keys (or MBT_CURVE_SECRET_KEY and MBT_AUTHORIZED_KEYS)")
        }
        if curveSecretKey != nil && spawnWorkers > 0 {
            throw ValidationError("--spawn-workers starts plain-text local workers; it cannot be combined with --curve-secret-key")
        }
        if curveSecretKey != nil && spawnShards > 0 {
            throw ValidationError("--spawn-shards starts plain-text local shards; it cannot be combined with --curve-secret-key (start them with `coordinator shard --curve-secret-key` and give --shard)")
        }
    }

    /// The synthetic generator's flags: a sentence for the first that it cannot use.
    func validateSynthetic() throws {
        guard syntheticUsers >= 1 else { throw ValidationError("--synthetic-users must be at least 1 (got \(syntheticUsers))") }
        guard syntheticItems >= 1 else { throw ValidationError("--synthetic-items must be at least 1 (got \(syntheticItems))") }
        guard syntheticInteractionsPerUser >= 1 else {
            throw ValidationError("--synthetic-interactions-per-user must be at least 1 (got \(syntheticInteractionsPerUser))")
        }
        let perUser = syntheticInteractionsPerUser + SyntheticSpec().testPerUser
        guard perUser <= syntheticItems else {
            throw ValidationError("--synthetic-interactions-per-user \(syntheticInteractionsPerUser) plus \(SyntheticSpec().testPerUser) test items per user needs at least \(perUser) items; --synthetic-items is \(syntheticItems)")
        }
        guard syntheticUsers <= Int(Int32.max), syntheticItems <= Int(Int32.max) else {
            throw ValidationError("--synthetic-users and --synthetic-items must be at most \(Int32.max) (got \(syntheticUsers), \(syntheticItems))")
        }
    }

    /// The CurveZMQ settings from the key files, nil when CURVE is off.
    func curveServer(logger: Logger) throws -> CurveServer? {
        guard let secretPath = curveSecretKey, let authorizedPath = authorizedKeys else { return nil }
        let server = CurveServer(keys: try CurveKeyFile.readKeyPair(secretKeyFile: secretPath),
                                 authorizedClients: try CurveKeyFile.readAuthorizedKeys(authorizedPath))
        if let warning = CurveKeyFile.permissionWarning(secretKeyFile: secretPath) { logger.warning("\(warning)") }
        return server
    }

    /// The flags as given (nil where a flag was not given and has no value of its own).
    var flags: RunFlags {
        var f = RunFlags()
        f.bind = bind
        f.workers = workers
        f.spawnWorkers = spawnWorkers
        f.preset = preset
        f.epochs = epochs
        f.dim = dim
        f.batchSize = batchSize
        f.minibatchSize = minibatchSize
        f.loss = loss
        f.cclMargin = cclMargin
        f.cclNegativeWeight = cclNegativeWeight
        f.similarity = similarity
        f.temperature = temperature
        f.positiveTemperature = positiveTemperature
        f.negatives = negatives
        f.sampler = sampler
        f.popularityAlpha = popularityAlpha
        f.logQCorrection = logq
        f.mixInBatch = mixInBatch
        f.liveNegatives = liveNegatives
        f.trainedBankNegatives = trainedBankNegatives
        f.hardNegatives = hardNegatives
        f.hardNegativePool = hardNegativePool
        f.hardNegativeSkip = hardNegativeSkip
        f.keepAccidentalHits = keepAccidentalHits
        f.maskSeenItems = maskSeenItems
        f.momentum = momentum
        f.initStd = initStd
        f.optimizer = optimizer
        f.learningRate = lr
        f.weightDecay = weightDecay
        f.learningRateSchedule = lrSchedule
        f.seed = seed
        f.evaluationKs = evalK
        f.evaluationUsers = evaluationUsers
        f.evaluateEvery = evalEvery
        f.validationFraction = validationFraction
        f.patience = patience
        f.timeLimit = timeLimit
        f.outputDirectory = output
        f.checkpointEverySteps = checkpointEvery
        f.resume = resume
        f.heartbeatTimeout = heartbeatTimeout
        f.taskTimeout = taskTimeout
        f.maxWorkers = maxWorkers
        f.verifyReplicas = verifyReplicas
        f.maxMessageBytes = maxMessageBytes
        f.faults = faults
        return f
    }

    /// The run's settings (`CoordinatorSettings.resolve`); a flag that cannot work is a usage error.
    func settings(data: DataShape? = nil) throws -> CoordinatorSettings {
        do {
            return try CoordinatorSettings.resolve(flags, data: data)
        } catch let error as TrainerError {
            throw ValidationError(error.description)
        }
    }

    func loadData() throws -> InteractionData {
        if dataset == "synthetic" {
            var spec = SyntheticSpec()
            spec.users = syntheticUsers
            spec.items = syntheticItems
            spec.interactionsPerUser = syntheticInteractionsPerUser
            spec.clusters = min(spec.clusters, syntheticItems)
            spec.seed = seed
            return DatasetLoader.synthetic(spec)
        }
        let temporalSplit: DatasetLoader.TemporalSplit
        if split == "leave-last-out" {
            temporalSplit = .leaveLastOut
        } else if split.hasPrefix("ratio:"), let f = Double(split.dropFirst(6)), f > 0, f < 1 {
            temporalSplit = .ratio(f)
        } else {
            throw ValidationError("--split must be leave-last-out or ratio:F with 0 < F < 1 (got \(self.split))")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dataset, isDirectory: &isDirectory) else {
            throw ValidationError("--dataset \(dataset): no such file or directory")
        }
        var format = self.format
        if format == "auto" {
            let name = (dataset as NSString).lastPathComponent
            format = isDirectory.boolValue ? "lightgcn"
                : name == "u.data" || name.hasSuffix(".dat") ? "movielens" : "delimited"
        }
        switch format {
        case "lightgcn": return try DatasetLoader.lightGCN(directory: dataset)
        case "movielens": return try DatasetLoader.movieLens(path: dataset, split: temporalSplit)
        case "delimited": return try DatasetLoader.delimited(path: dataset, split: temporalSplit)
        default: throw ValidationError("--format must be auto, lightgcn, movielens or delimited (got \(format))")
        }
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel)!
        ProcessLogging.bootstrap(level: level)
        let logger = Logger(label: "coordinator")
        try BLAS.select(BLAS.Choice(blas))
        BLAS.setThreads(blasThreads)
        logger.info("BLAS: \(BLAS.summary)")
        let status = StatusFile(path: statusFile)
        status.write("starting")
        let signals = StopSignals(logger: logger, firstSignalMeans: "finishing the step in progress, then checkpointing and exiting")
        // Flags and key files are checked before the data loads; a preset then sizes what depends on the catalogue.
        _ = try settings()
        let curve = try curveServer(logger: logger)
        var data = try loadData()
        let shape = DataShape(users: data.userCount, items: data.itemCount, pairs: data.trainUsers.count)
        var settings = try settings(data: shape)
        settings.curve = curve
        for warning in settings.warnings(data: shape) { logger.warning("\(warning)") }
        if let preset {
            settings.preset = TrainingPreset.named(preset)?.choice(data: shape)
            let tauPlus = settings.loss.positiveTemperature.map { ", τ⁺ \($0)" } ?? ""
            logger.info("preset \(preset) on \(data.name) (density \(String(format: "%.2g", shape.density))): \(settings.loss.negatives) negatives, τ \(settings.loss.temperature)\(tauPlus), weight decay \(settings.optimizer.weightDecay), \(settings.epochs) epochs at most")
        }
        if settings.validationFraction > 0 {
            let carved = data.carveValidation(fraction: settings.validationFraction, seed: settings.seed)
            if carved.validationCount == 0 {
                // Users give round(fraction · n) of their n items: small fractions of short histories round to 0.
                logger.warning("--validation-fraction \(settings.validationFraction) holds out nothing on \(data.name) (no user has enough distinct training items for round(fraction · n) ≥ 1): training on all of it, without a validation split or early stopping; the best test epoch is still reported")
                settings.validationFraction = 0
                settings.patience = 0
            } else {
                data = carved
                logger.info("validation split: \(data.validationCount) items of \(data.validationItems.filter { !$0.isEmpty }.count) users held out of training")
            }
        }
        var shards: LocalShards?
        if spawnShards > 0 {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            shards = try LocalShards(count: spawnShards, stateDirectory: output,
                                     executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path,
                                     logLevel: level <= .debug ? logLevel : "warning", logger: logger)
        }
        defer { shards?.terminate() }
        settings.shards = shards?.addresses ?? shard
        settings.shardTimeout = shardTimeout
        settings.shardPublicKeys = try shardPublicKey.map { try CurveKeyFile.readPublicKey($0) }
        if let problem = settings.problems().first { throw ValidationError(problem) }
        status.write("loaded")
        let server = try CoordinatorServer(settings: settings, data: data, logger: logger)
        var metricsEndpoint: MetricsEndpoint?
        if let metricsAddress {
            let metrics = PrometheusCoordinatorMetrics()
            metricsEndpoint = try metrics.export.serve(on: metricsAddress)
            server.metrics = metrics
            logger.info("metrics at http://\(metricsEndpoint!.boundAddress)/metrics")
        }
        defer { metricsEndpoint?.stop() }
        var local: LocalWorkers?
        if spawnWorkers > 0 {
            let executable = workerExecutable ?? URL(fileURLWithPath: CommandLine.arguments[0])
                .deletingLastPathComponent().appendingPathComponent("worker").path
            local = try LocalWorkers(count: spawnWorkers, executable: executable, endpoint: server.boundEndpoint,
                                     logLevel: level <= .debug ? logLevel : "warning", blas: blas,
                                     logger: logger)
        }
        defer { local?.finish() }
        let summary = try server.run(supervise: {
            status.writeIfDue("running")
            try local?.check()
            try shards?.check()
        }, stopRequested: { signals.reason })
        status.write(summary.stoppedBy == nil ? "finished" : "stopped")
        if let reason = summary.stoppedBy {
            local?.terminate()   // (they got the signal too, or would wait for a coordinator that is not coming back)
            logger.notice("stopped on \(reason) after step \(summary.lastStep); to resume: \(StopSignals.commandLine(adding: "--resume"))")
        }
        if let last = summary.epochs.last, summary.stoppedBy == nil {
            let figures = last.metrics.map { String(format: "Recall@%d %.4f  NDCG@%d %.4f", $0.k, $0.recall, $0.k, $0.ndcg) }
            print("done: \(summary.epochs.count) epochs\(summary.stoppedEarly ? " (stopped early)" : ""), \(summary.steps) steps in \(String(format: "%.1f", summary.wallSeconds)) s; last epoch \(figures.joined(separator: "  ")); output in \(summary.outputDirectory)")
            for line in CoordinatorServer.selectionLines(summary.selection) { print(line) }
        }
        if summary.replicaMismatches > 0 || summary.epochs.contains(where: { !$0.auditExact }) {
            throw TrainerError("the run finished with \(summary.replicaMismatches) gradient(s) computed from other rows than those sent and \(summary.epochs.filter { !$0.auditExact }.count) inexact epoch audit(s)")
        }
    }
}
