import Foundation
import Testing
@testable import KnowledgeBase

/// PDF documents: imported page by page so that an answer can cite its page; damaged, encrypted and
/// scanned-only files skipped with a message that says which, while the rest of the import goes on.
struct PDFImportTests {
    static let popplerInstalled = PDFText.pdftotext.path != nil && PDFText.pdfinfo.path != nil

    static let guide = MiniPDF.make(
        pages: [
            [
                "Planting a village hedge",
                "",
                "A hedge shelters birds and insects and slows the wind across open fields.",
                "Volunteers plant it in winter, when the young shrubs are dormant and",
            ],
            [
                "the ground is soft enough to dig.",
                "",
                "Hawthorn, hazel and field maple make a hedgerow that feeds wildlife all year.",
            ],
        ], title: "Hedge planting guide")

    @Test func aPDFIsImportedPageByPageAndPassagesKnowTheirPage() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let file = folder.url.appendingPathComponent("guide.pdf")
        try Self.guide.write(to: file)
        let index = try makeIndex()
        let report = try index.importPaths([file.path])
        guard Self.popplerInstalled else {
            #expect(report.skipped.first?.reason.contains("poppler-utils") == true)
            return
        }
        #expect(report.skipped.isEmpty, "\(report.skipped)")
        #expect(report.added == 1)
        let hedgerow = try #require(try index.search("which shrubs make a hedgerow for wildlife?", limit: 1).results.first)
        #expect(hedgerow.document == "Hedge planting guide")
        #expect(hedgerow.page == 2)
        // The sentence cut by the page break is read whole, on the page where it starts.
        let winter = try #require(try index.search("when do volunteers plant the hedge?", limit: 1).results.first)
        #expect(winter.page == 1)
        #expect(winter.text.contains("when the young shrubs are dormant and the ground is soft enough to dig."), "\(winter.text)")
    }

    @Test func damagedEncryptedAndScannedPDFsAreSkippedWithTheirReasonAndTheRestIsImported() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try Data("%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nthis is not the rest of a PDF\n".utf8)
            .write(to: folder.url.appendingPathComponent("damaged.pdf"))
        try MiniPDF.make(pages: [["A secret plan for the village square."]], encrypted: true)
            .write(to: folder.url.appendingPathComponent("locked.pdf"))
        try MiniPDF.make(pages: [[], []]).write(to: folder.url.appendingPathComponent("scanned.pdf"))
        try Data("plain text, no PDF at all".utf8).write(to: folder.url.appendingPathComponent("renamed.pdf"))
        try folder.write("notes.md", "# Notes\n\nThe village square gets new trees in spring.\n")
        let index = try makeIndex()
        let report = try index.importPaths([folder.url.path])
        #expect(report.added == 1, "the Markdown file is imported all the same")
        let reasons = Dictionary(uniqueKeysWithValues: report.skipped.map { (($0.path as NSString).lastPathComponent, $0.reason) })
        #expect(reasons.count == 4, "\(reasons)")
        #expect(reasons["renamed.pdf"]?.contains("not a PDF file") == true, "\(reasons)")
        guard Self.popplerInstalled else { return }
        #expect(reasons["damaged.pdf"]?.contains("damaged") == true, "\(reasons)")
        #expect(reasons["locked.pdf"]?.contains("encrypted") == true, "\(reasons)")
        #expect(reasons["scanned.pdf"]?.contains("no text layer") == true, "\(reasons)")
    }

    @Test func hardWrappedLinesBecomeParagraphsAndHyphenatedWordsAreJoined() {
        let sections = PDFText.sections(ofPages: [
            "A trans-\nition takes years\nand patience.\n\nSecond paragraph, first page.", "Only a title\n",
        ])
        #expect(sections.count == 2)
        #expect(sections[0].body == "A transition takes years and patience.\n\nSecond paragraph, first page.")
        #expect(sections[0].page == 1)
        #expect(sections[1].page == 2)
    }
}
