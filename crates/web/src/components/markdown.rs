//! Markdown for agent messages: rendered by pulldown-cmark with raw HTML escaped and unsafe link
//! schemes removed, because the text comes from a model and may contain anything.

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag};
use yew::prelude::*;

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    match lower.split_once(':') {
        // A colon before any slash means a scheme; only web and mail schemes are allowed.
        Some((scheme, _)) if !scheme.contains('/') && !scheme.contains('?') => {
            matches!(scheme, "http" | "https" | "mailto")
        }
        _ => true,
    }
}

/// Renders markdown to HTML that is safe to insert into the page.
pub fn render_markdown(src: &str) -> String {
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(src, opts).map(|ev| match ev {
        // Raw HTML is shown as text, never interpreted.
        Event::Html(s) | Event::InlineHtml(s) => Event::Text(s),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) if !safe_url(&dest_url) => {
            Event::Start(Tag::Link { link_type, dest_url: CowStr::from("#"), title, id })
        }
        // Images would load third-party URLs chosen by the model: show them as links instead.
        Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
            let dest_url = if safe_url(&dest_url) { dest_url } else { CowStr::from("#") };
            Event::Start(Tag::Link { link_type, dest_url, title, id })
        }
        Event::End(pulldown_cmark::TagEnd::Image) => Event::End(pulldown_cmark::TagEnd::Link),
        other => other,
    });
    let mut out = String::with_capacity(src.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// Props of [`Markdown`].
#[derive(Properties, PartialEq)]
pub struct MarkdownProps {
    /// The markdown source.
    pub source: AttrValue,
}

/// Rendered markdown.
#[component]
pub fn Markdown(props: &MarkdownProps) -> Html {
    let html = use_memo(props.source.clone(), |s| render_markdown(s));
    html! { <div class="markdown">{ Html::from_html_unchecked(AttrValue::from((*html).clone())) }</div> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_common_markdown() {
        let out = render_markdown("# Title\n\n- **bold** `code`\n\n```rust\nfn x() {}\n```");
        assert!(out.contains("<h1>Title</h1>"));
        assert!(out.contains("<strong>bold</strong>"));
        assert!(out.contains("<code>code</code>"));
        assert!(out.contains("language-rust"));
    }

    #[test]
    fn raw_html_is_escaped() {
        let out = render_markdown("<script>alert(1)</script>\n\nhi <img src=x onerror=y>");
        assert!(!out.contains("<script"));
        assert!(!out.contains("<img"));
        assert!(out.contains("&lt;script&gt;"));
    }

    #[test]
    fn dangerous_links_are_neutralised() {
        let out = render_markdown("[x](javascript:alert(1)) [y](https://ok.example) [z](/rel)");
        assert!(!out.contains("javascript:"));
        assert!(out.contains("https://ok.example"));
        assert!(out.contains("href=\"/rel\""));
        let img = render_markdown("![a](https://t.example/p.png)");
        assert!(!img.contains("<img"));
    }
}
