import RunSettings
extension TrainingSpec {
    /// The first rule this spec breaks for a worker within `limits`, or nil. Checked on WELCOME before anything is
    /// allocated: a worker that cannot honour a spec says why and stops.
    public func refusal(within limits: InputLimits) -> Refusal? {
        guard (1 ... limits.maxRows).contains(users) else {
            return bad("users", "\(users) users (must be 1 … \(limits.maxRows))")
        }
        guard (1 ... limits.maxRows).contains(items) else {
            return bad("items", "\(items) items (must be 1 … \(limits.maxRows))")
        }
        guard (1 ... limits.maxDim).contains(dim) else { return bad("dim", "dim \(dim) (must be 1 … \(limits.maxDim))") }
        guard loss.temperature > 0, loss.temperature.isFinite else {
            return bad("temperature", "temperature \(loss.temperature) (must be positive and finite)")
        }
        if let positiveTemperature = loss.positiveTemperature, !(positiveTemperature > 0 && positiveTemperature.isFinite) {
            return bad("positive_temperature", "positive temperature \(positiveTemperature) (must be positive and finite)")
        }
        if loss.trainedBankNegatives && (loss.liveNegatives || !loss.usesBankNegatives) {
            return bad("negatives_source", loss.liveNegatives
                ? "negatives both live and trained from the bank (at most one)"
                : "trained bank negatives for loss \(loss.kind), which reads no bank negatives")
        }
        if loss.minesHardNegatives {
            guard loss.kind == .bankInfoNCE, loss.trainsNegatives else {
                return bad("hard_negatives", "hard negatives need the bank InfoNCE loss with negatives that get gradients (live or trained from the bank), not \(loss.kind)\(loss.trainsNegatives ? "" : " with constant bank negatives")")
            }
            guard loss.hardNegatives + loss.hardNegativeSkip <= loss.hardNegativePool,
                  loss.hardNegativePool <= limits.maxNegatives else {
                return bad("hard_negatives", "\(loss.hardNegatives) hard negatives after the \(loss.hardNegativeSkip) closest, from a pool of \(loss.hardNegativePool) (together at most the pool, the pool at most \(limits.maxNegatives))")
            }
        }
        let negatives = loss.negatives, drawsNegatives = loss.usesBankNegatives
        guard negatives <= limits.maxNegatives, !drawsNegatives || negatives >= 1 else {
            return bad("negatives", "\(negatives) negatives (must be \(drawsNegatives ? 1 : 0) … \(limits.maxNegatives))")
        }
        guard popularityAlpha >= 0, popularityAlpha.isFinite else {
            return bad("popularity_alpha", "popularity exponent \(popularityAlpha) (must be ≥ 0 and finite)")
        }
        if let index = popularity.firstIndex(where: { !($0 >= 0 && $0.isFinite) }) {
            return bad("popularity", "popularity of item \(index) is \(popularity[index]) (must be ≥ 0 and finite)")
        }
        let needed = InputLimits.specBytes(users: users, items: items, seenPairs: seenItems.count)
        guard let needed, needed <= limits.memoryBytes else {
            return bad("memory", "\(users) users and \(items) items need \(needed.map { "\($0 >> 20) MiB" } ?? "more than 2⁶³ bytes") for the negative sampler and the seen items; this worker allows \(limits.memoryBytes >> 20) MiB (--max-memory)")
        }
        if carriesSeenItems, let item = seenItems.first(where: { Int($0) >= items }) {
            return bad("seen_items", "seen item \(item) is not below \(items)")
        }
        return nil
    }

    private func bad(_ key: String, _ detail: String) -> Refusal { .invalid("spec_\(key)", detail) }

    /// The first rule this STEP breaks for this spec, or nil: row blocks within the tables, in the spec's dim, ids
    /// strictly ascending, finite values; tasks within the tables and counts within `limits`. (That the blocks hold
    /// every row the tasks read is checked when the rows are looked up: `TaskReads`.)
    public func refusal(of step: Step, within limits: InputLimits) -> Refusal? {
        do {
            for (block, rows, what) in [(step.users, users, "step users"), (step.items, items, "step items"),
                                        (step.bank, items, "step bank")] {
                try block.validate(rowLimit: rows, dim: dim, what)
                if let k = block.ids.indices.dropFirst().first(where: { block.ids[$0 - 1] >= block.ids[$0] }) {
                    let key = String(what.map { $0 == " " ? "_" : $0 })
                    return .invalid("\(key)_order", "\(what) row ids are not strictly ascending (\(block.ids[k - 1]) before \(block.ids[k]))")
                }
            }
        } catch { return error }
        guard step.tasks.count <= limits.maxTasksPerStep else {
            return .invalid("step_tasks", "STEP \(step.step) has \(step.tasks.count) tasks (at most \(limits.maxTasksPerStep))")
        }
        var keys = Set<UInt64>(minimumCapacity: step.tasks.count)
        for task in step.tasks {
            let name = "task (\(task.epoch), \(task.minibatch))"
            guard keys.insert(UInt64(task.epoch) << 32 | UInt64(task.minibatch)).inserted else {
                return .invalid("step_duplicate_task", "STEP \(step.step) lists \(name) twice")
            }
            guard (1 ... limits.maxPairsPerTask).contains(task.users.count) else {
                return .invalid("task_pairs", "\(name) has \(task.users.count) pairs (must be 1 … \(limits.maxPairsPerTask))")
            }
            // The hard-negative pool adds a (pairs, pool) block of scores.
            let columns = loss.negatives + loss.hardNegativePool
            guard let bytes = InputLimits.taskBytes(pairs: task.users.count, negatives: columns),
                  bytes <= limits.memoryBytes / 2 else {
                return .invalid("task_memory", "\(name) of \(task.users.count) pairs against \(columns) negatives and pool items needs more than half of the \(limits.memoryBytes >> 20) MiB this worker allows")
            }
            if let bad = task.users.first(where: { Int($0) >= users }) {
                return .invalid("task_user_range", "\(name) names user \(bad); the run has \(users)")
            }
            if let bad = task.items.first(where: { Int($0) >= items }) {
                return .invalid("task_item_range", "\(name) names item \(bad); the run has \(items)")
            }
        }
        return nil
    }
}
