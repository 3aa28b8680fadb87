import Foundation
import GRDB
import XCTest

@testable import KnowledgeBase

/// Files shared in rooms: read by what their content is (whatever their name says), refused with the
/// reason when they cannot be added, and, once added for a territory, found only by searches scoped to it.
final class UploadTests: XCTestCase {
    static let fixtures = repositoryRoot.appendingPathComponent("Tests/Fixtures/knowledge")

    func prepare(_ data: Data, _ name: String) -> Result<PreparedUpload, UploadProblem> {
        Result { () throws(UploadProblem) in try KnowledgeIndex.prepareUpload([UInt8](data), fileName: name) }
    }

    func problem(_ data: Data, _ name: String) -> UploadProblem? {
        if case .failure(let problem) = prepare(data, name) { problem } else { nil }
    }

    func testTheContentDecidesTheKind() throws {
        let docx = try Data(contentsOf: Self.fixtures.appendingPathComponent("orchard.docx"))
        let odt = try Data(contentsOf: Self.fixtures.appendingPathComponent("verger.odt"))
        let pdf = MiniPDF.make(pages: [["Hedges are planted in winter."], ["Mulch them for three summers."]], title: "Hedges")
        let cases: [(Data, String, UploadKind, String)] = [
            (docx, "report.bin", .docx, "A community orchard"),
            (odt, "verger", .odt, "Un verger partagé"),
            (pdf, "hedges.md", .pdf, "Hedges"),
            (
                Data("<!DOCTYPE html><html><head><title>Ponds</title></head><body><h1>Ponds</h1><p>Dig in autumn.</p></body></html>".utf8),
                "ponds.txt", .html, "Ponds"
            ),
            (Data("# Notes\n\n## First\n\nSome text here.".utf8), "notes.md", .markdown, "Notes"),
            (Data("Plain words, no headings.\n\nA second paragraph.".utf8), "plain_notes.txt", .text, "plain notes"),
        ]
        for (data, name, kind, title) in cases {
            let upload = try prepare(data, name).get()
            XCTAssertEqual(upload.kind, kind, name)
            XCTAssertEqual(upload.title, title, name)
            XCTAssertGreaterThan(upload.passages, 0, name)
        }
        let orchard = try prepare(docx, "orchard.docx").get()
        XCTAssertTrue(orchard.sections.contains("Who looks after it"), "\(orchard.sections)")
        XCTAssertEqual(try prepare(pdf, "hedges.pdf").get().pages, 2)
    }

    func testWhatCannotBeAddedSaysWhy() throws {
        // A ZIP archive that is no office document, whatever its name.
        let zip = try Data(contentsOf: repositoryRoot.appendingPathComponent("Tests/Fixtures/uploads/notes.zip"))
        XCTAssertEqual(problem(zip, "orchard.docx"), .unsupported(.archive))
        XCTAssertEqual(problem(Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "scan.pdf"), .unsupported(.image))
        XCTAssertEqual(problem(Data([0xFF, 0xD8, 0xFF, 0xE0, 1, 2]), "photo.md"), .unsupported(.image))
        XCTAssertEqual(problem(Data([1, 2, 0, 4, 5]), "data.md"), .unsupported(.binary))
        XCTAssertEqual(problem(Data([0x41, 0xE9, 0x74, 0xE9]), "latin1.md"), .unsupported(.notUTF8))
        let ole = Data([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0])
        XCTAssertEqual(problem(ole, "old.doc"), .unsupported(.oldOffice))
        XCTAssertEqual(problem(ole, "protected.docx"), .encrypted)
        XCTAssertEqual(problem(MiniPDF.make(pages: [["Secret"]], encrypted: true), "secret.pdf"), .encrypted)
        XCTAssertEqual(problem(MiniPDF.make(pages: [[]]), "scanned.pdf"), .imageOnly)
        if case .damaged? = problem(Data("%PDF-1.4\nno objects at all\n".utf8), "broken.pdf") {
        } else {
            XCTFail("a damaged PDF is damaged")
        }
        XCTAssertEqual(problem(Data("   \n\n".utf8), "empty.md"), .noText)
    }

    func testARoomDocumentAnswersOnlyInItsTerritoryAndGoesWithItsPassages() throws {
        let index = try makeIndex()
        let upload = try prepare(
            Data("# Planting a hedge\n\n## When to plant\n\nPlant hawthorn hedges between November and March.".utf8), "h.md"
        ).get()
        _ = try index.writer.write { db in
            try index.addRoomDocument(
                db, upload, territory: "t-1", territoryName: "Drôme", roomID: "!r", fileEventID: "$f", fileName: "h.md", sharedBy: "@bo",
                sharedByName: "Bo",
                addedBy: "@ana", at: Date(timeIntervalSince1970: 1))
        }
        func found(_ scope: DocumentScope) throws -> Bool {
            try index.writer.read { db in
                try index.search(db, "when to plant hawthorn hedges", limit: 3, scope: scope).results.contains {
                    $0.document == "Planting a hedge"
                }
            }
        }
        XCTAssertTrue(try found(.everything))
        XCTAssertTrue(try found(.territory("t-1")))
        XCTAssertFalse(try found(.territory("t-2")))
        XCTAssertFalse(try found(.territory(nil)))
        try index.writer.read { db in
            XCTAssertEqual(try index.topics(db, language: nil, scope: .territory("t-1")), ["Planting a hedge"])
            XCTAssertEqual(try index.topics(db, language: nil, scope: .territory("t-2")), [])
            let listed = try index.roomDocuments(db, territory: "t-1")
            XCTAssertEqual(listed.map(\.source), ["room:!r/$f"])
            XCTAssertEqual(listed.first?.sharedByName, "Bo")
            XCTAssertEqual(
                try String.fetchOne(db, sql: "SELECT territory FROM kb_document WHERE source = 'room:!r/$f'"), "Drôme",
                "answers say which territory shared it, by name")
        }
        let removed = try index.writer.write { db in try index.removeRoomDocument(db, source: "room:!r/$f") }
        XCTAssertTrue(removed)
        try index.writer.read { db in
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM kb_passage"), 0)
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM kb_room_document"), 0)
            XCTAssertEqual(try index.roomDocuments(db, territory: "t-1"), [])
        }
    }
}
