extension UInt64 {
    /// The sum, or the largest value where it would wrap: counts and weights read from a file add up this way, so
    /// that two corrupt values cannot trap, and a total never comes out smaller than its parts.
    @inline(__always)
    public func saturatingAdd(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}
