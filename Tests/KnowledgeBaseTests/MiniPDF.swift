import Foundation

/// Tiny PDF files written at test time, byte by byte: text pages (Helvetica, ASCII), a page with only a
/// drawing (what a scanned page looks like to a text extractor), and a password-protected file.
enum MiniPDF {
    /// - Parameters:
    ///   - pages: each page's lines; an empty list draws a filled rectangle instead of text.
    ///   - encrypted: adds a standard security handler whose user password is not empty.
    static func make(pages: [[String]], title: String? = nil, encrypted: Bool = false) -> Data {
        var objects: [String] = []
        let pageCount = pages.count
        // 1: catalog, 2: pages, 3: font, then a page and its content per page.
        objects.append("<< /Type /Catalog /Pages 2 0 R >>")
        let kids = (0..<pageCount).map { "\(4 + 2 * $0) 0 R" }.joined(separator: " ")
        objects.append("<< /Type /Pages /Kids [\(kids)] /Count \(pageCount) >>")
        objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
        for (index, lines) in pages.enumerated() {
            let content: String
            if lines.isEmpty {
                content = "0.5 0.5 0.5 rg 72 300 400 400 re f"
            } else {
                var text = "BT /F1 11 Tf 72 740 Td 14 TL"
                for line in lines { text += " (\(escape(line))) Tj T*" }
                content = text + " ET"
            }
            objects.append(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents \(5 + 2 * index) 0 R >>"
            )
            objects.append("<< /Length \(content.utf8.count) >>\nstream\n\(content)\nendstream")
        }
        var infoNumber: Int?
        if let title {
            objects.append("<< /Title (\(escape(title))) >>")
            infoNumber = objects.count
        }
        var encryptNumber: Int?
        if encrypted {
            let filler = String(repeating: "AB", count: 32)
            objects.append("<< /Filter /Standard /V 1 /R 2 /Length 40 /O <\(filler)> /U <\(filler)> /P -44 >>")
            encryptNumber = objects.count
        }
        var pdf = "%PDF-1.4\n"
        var offsets: [Int] = []
        for (index, object) in objects.enumerated() {
            offsets.append(pdf.utf8.count)
            pdf += "\(index + 1) 0 obj\n\(object)\nendobj\n"
        }
        let xref = pdf.utf8.count
        pdf += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        for offset in offsets { pdf += String(format: "%010d 00000 n \n", offset) }
        var trailer = "/Size \(objects.count + 1) /Root 1 0 R"
        if let infoNumber { trailer += " /Info \(infoNumber) 0 R" }
        if let encryptNumber {
            trailer += " /Encrypt \(encryptNumber) 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> <0123456789ABCDEF0123456789ABCDEF>]"
        }
        pdf += "trailer\n<< \(trailer) >>\nstartxref\n\(xref)\n%%EOF\n"
        return Data(pdf.utf8)
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "(", with: "\\(")
            .replacingOccurrences(of: ")", with: "\\)")
    }
}
