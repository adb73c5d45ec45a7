/// Which training loss a minibatch is scored with. Raw values are stable (they cross the network and checkpoints).
public enum LossKind: UInt8, Sendable, CaseIterable {
    /// InfoNCE of each (user, positive) pair against K negatives drawn from the item memory bank.
    case bankInfoNCE = 0
    /// InfoNCE of each user against every positive item of the minibatch (the other positives are the negatives).
    case inBatchInfoNCE = 1
    /// Multiple negatives ranking: in-batch softmax with the dot product (the similarity setting is ignored).
    case mnr = 2
    /// Bayesian personalised ranking: softplus(<u,n> − <u,p>) with one live-table negative per pair, dot product.
    case bpr = 3
    /// Cosine contrastive loss (SimpleX's CCL) against K bank negatives: max(0, 1 − cos(u, p)) +
    /// (w / K') Σ_k max(0, cos(u, n_k) − m) over the K' negatives left after accidental hits.
    case ccl = 4
}

/// How a user row is compared with an item row.
public enum Similarity: UInt8, Sendable {
    case cosine = 0
    case dot = 1
}
