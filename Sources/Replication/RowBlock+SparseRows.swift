import Kernels
import Wire

extension RowBlock {
    /// The wire form of a set of rows (no copy: arrays are shared until written).
    public init(_ rows: SparseRows) {
        self.init(dim: rows.dim, ids: rows.ids, values: rows.values)
    }
}

extension SparseRows {
    /// Rows received from the wire; the decoder has checked that values.count == ids.count × dim.
    public init(_ block: RowBlock) {
        self.init(dim: block.dim, ids: block.ids, values: block.values)
    }
}
