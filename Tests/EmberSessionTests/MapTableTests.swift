import EmberSession
import XCTest

final class MapTableTests: XCTestCase {
    func testInsertReplacesWhatItOverlaps() {
        var t = MapTable()
        t.insert(Mapping(start: 0x1000, end: 0x5000, pageOffset: 0, dso: 1))
        t.insert(Mapping(start: 0x2000, end: 0x3000, pageOffset: 0x10000, dso: 2))
        XCTAssertEqual(t.mappings.map(\.dso), [1, 2, 1])
        XCTAssertEqual(t.lookup(0x1fff)?.dso, 1)
        XCTAssertEqual(t.lookup(0x2000)?.dso, 2)
        XCTAssertEqual(t.lookup(0x3000)?.dso, 1)
        XCTAssertEqual(t.lookup(0x3000)?.fileOffset(of: 0x3000), 0x2000, "the split tail keeps its file offset")
        XCTAssertNil(t.lookup(0x5000))
        XCTAssertNil(t.lookup(0xfff))
        t.insert(Mapping(start: 0, end: 0x10000, pageOffset: 0, dso: 3))
        XCTAssertEqual(t.mappings.map(\.dso), [3])
    }
}

/// The key of all ones marks an empty slot: a location key a corrupt file makes so is never kept and always
/// missed, where it used to find an empty slot's 0.
final class IntegerMapTests: XCTestCase {
    func testTheEmptyMarkerIsNeverAKey() {
        var map = IntegerMap(capacity: 4)
        XCTAssertNil(map[.max])
        map.insert(7, for: .max)
        XCTAssertNil(map[.max])
        map.insert(3, for: 42)
        XCTAssertEqual(map[42], 3)
        XCTAssertEqual(map.count, 1)
    }
}
