@testable import BotCore
@testable import Factory
import FabriqueTesting
import Foundation
import XCTest

/// A territory name in use by any data stays reserved (issue 21): after its room moved to another
/// territory, a name that only pebbles, a star or a signature still use is not free for another room.
final class TerritoryReservationTests: XCTestCase {
    func testANameOnlyPebblesStarsOrSignaturesUseStaysReserved() throws {
        var bench = try FactoryBench()
        try bench.bind("diois", to: "Diois")
        try bench.say("!pebble add Seed library; Lou; 2026-04-01", from: "bob", in: "diois")
        try bench.bind("diois", to: "Biovallée")
        let refused = try bench.say("!territory set DIOIS", in: "elsewhere").joined()
        XCTAssertTrue(refused.contains("already used by another room"), refused)

        try bench.bind("basque", to: "Pays Basque")
        try bench.play(
            [
                ("dan", "!start ally"), ("dan", "1"), ("dan", "yes"), ("dan", "1"), ("dan", "yes"), ("dan", "Herriko"), ("dan", "2"),
                ("dan", "yes"),
            ],
            in: "basque")
        try bench.bind("basque", to: "Iparralde")
        XCTAssertTrue(
            try bench.say("!territory set pays basque", in: "elsewhere").joined().contains("already used"), "a signature keeps it")
        XCTAssertEqual(try bench.say("!territory set Diois", in: "diois"), ["This room now works for Diois."], "its own room takes it back")
    }
}
