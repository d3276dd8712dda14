import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../../renderer/cells/markdown";

describe("notes Markdown", () => {
  it("renders headings, lists, emphasis, code and links", () => {
    const html = renderMarkdown(
      "# Title\n\nSome **bold** and *it* with `code`.\n\n- one\n- two\n\n1. first\n\n[SLAF](https://slaf-project.github.io)\n\n```\nSELECT 1\n```",
    );
    expect(html).toContain("<h1>Title</h1>");
    expect(html).toContain("<strong>bold</strong>");
    expect(html).toContain("<em>it</em>");
    expect(html).toContain("<code>code</code>");
    expect(html).toContain("<ul><li>one</li><li>two</li></ul>");
    expect(html).toContain("<ol><li>first</li></ol>");
    expect(html).toContain('<a href="https://slaf-project.github.io" target="_blank" rel="noreferrer">SLAF</a>');
    expect(html).toContain("<pre><code>SELECT 1</code></pre>");
  });

  it("escapes markup, so a note cannot inject HTML or script", () => {
    const html = renderMarkdown('<img src=x onerror="alert(1)"> <script>alert(2)</script>\n\n[x](javascript:alert(3))\n\n```\n</code><b>x</b>\n```');
    expect(html).not.toMatch(/<img|<script|<b>|href="javascript/);
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(html).toContain("&lt;/code&gt;&lt;b&gt;x&lt;/b&gt;");
  });
});
