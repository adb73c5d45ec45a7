/// Where a minibatch's values are read from: for each of its users, positives and negatives, a table and the row of
/// that table that holds it. With whole tables a row is the id itself; a worker passes tables that hold only the
/// rows its STEP carried, and the rows' positions in them.
public struct MinibatchRows {
    public var users: EmbeddingTable
    /// The row of `users` of each pair's user.
    public var userRows: [UInt32]
    public var items: EmbeddingTable
    /// The row of `items` of each pair's positive item.
    public var itemRows: [UInt32]
    /// The table the negatives are read from: the item table (live negatives, BPR) or the bank.
    public var negatives: EmbeddingTable
    /// The row of `negatives` of each negative.
    public var negativeRows: [UInt32]

    /// The table the hard-negative pool is read from (the bank), and the row of it of each pool item (empty
    /// without hard negatives).
    public var pool: EmbeddingTable
    public var poolRows: [UInt32]

    public init(users: EmbeddingTable, userRows: [UInt32], items: EmbeddingTable, itemRows: [UInt32],
                negatives: EmbeddingTable, negativeRows: [UInt32], pool: EmbeddingTable? = nil,
                poolRows: [UInt32] = []) {
        self.users = users
        self.userRows = userRows
        self.items = items
        self.itemRows = itemRows
        self.negatives = negatives
        self.negativeRows = negativeRows
        self.pool = pool ?? negatives
        self.poolRows = poolRows
    }

    /// The same rows without negatives (the losses that read none).
    var withoutNegatives: MinibatchRows {
        var rows = self
        rows.negativeRows = []
        return rows
    }
}
