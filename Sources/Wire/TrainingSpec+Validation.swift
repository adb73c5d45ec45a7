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
        guard let bytes = InputLimits.replicaBytes(users: users, items: items, dim: dim), bytes <= limits.memoryBytes
        else {
            return bad("memory", "\(users) users and \(items) items of dim \(dim) need \(InputLimits.replicaBytes(users: users, items: items, dim: dim).map { "\($0 >> 20) MiB" } ?? "more than 2⁶³ bytes") for the replica; this worker allows \(limits.memoryBytes >> 20) MiB (--max-memory)")
        }
        if maskSeenItems, let item = seenItems.first(where: { Int($0) >= items }) {
            return bad("seen_items", "seen item \(item) is not below \(items)")
        }
        return nil
    }

    private func bad(_ key: String, _ detail: String) -> Refusal { .invalid("spec_\(key)", detail) }

    /// The first rule this STEP breaks for a replica of this spec, or nil: deltas and tasks within the tables,
    /// unique ids, finite values, counts within `limits`, a version that is not the "no replica" sentinel.
    public func refusal(of step: Step, within limits: InputLimits) -> Refusal? {
        guard step.version != UInt64.max else {
            return .invalid("step_version", "STEP \(step.step) carries version \(step.version), the \"no replica\" value")
        }
        let noDelta = step.userDelta.isEmpty && step.itemDelta.isEmpty && step.bankDelta.isEmpty
        guard step.version > step.baseVersion || (step.version == step.baseVersion && noDelta) else {
            return .invalid("step_version", "STEP \(step.step) goes from version \(step.baseVersion) to \(step.version)")
        }
        do {
            try step.userDelta.validate(rowLimit: users, dim: dim, "step userDelta")
            try step.itemDelta.validate(rowLimit: items, dim: dim, "step itemDelta")
            try step.bankDelta.validate(rowLimit: items, dim: dim, "step bankDelta")
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
            guard let bytes = InputLimits.taskBytes(pairs: task.users.count, negatives: loss.negatives),
                  bytes <= limits.memoryBytes / 2 else {
                return .invalid("task_memory", "\(name) of \(task.users.count) pairs against \(loss.negatives) negatives needs more than half of the \(limits.memoryBytes >> 20) MiB this worker allows")
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

    /// The first rule this SNAPSHOT chunk breaks for a replica of this spec, or nil: its rows within its table,
    /// the spec's dim, at least one row, finite values, and no more chunks than the tables have rows.
    public func refusal(of chunk: SnapshotChunk) -> Refusal? {
        let rows = chunk.table == .users ? users : items
        guard chunk.dim == dim else { return .invalid("snapshot_dim", "snapshot chunk of dim \(chunk.dim); the run has \(dim)") }
        guard chunk.rowCount >= 1, chunk.firstRow <= rows, chunk.rowCount <= rows - chunk.firstRow else {
            return .invalid("snapshot_rows", "snapshot chunk of \(chunk.table) rows \(chunk.firstRow) + \(chunk.rowCount); the table has \(rows)")
        }
        guard chunk.chunkCount <= users + 2 * items else {
            return .invalid("snapshot_chunk_count", "snapshot of \(chunk.chunkCount) chunks for \(users + 2 * items) rows")
        }
        if let index = RowBlock.firstOutOfRange(chunk.values, maxAbs: .greatestFiniteMagnitude) {
            return .invalid("snapshot_not_finite", "snapshot chunk of \(chunk.table) holds \(chunk.values[index]) at row \(chunk.firstRow + index / dim)")
        }
        return nil
    }
}
