import CanopyAdminAPI
import CanopyStore
import Crypto
import Foundation

/// The dashboard: server-rendered HTML (readable without JavaScript) and a small script that
/// refreshes the live parts on server-sent events. No external assets: everything is inline.
enum Dashboard {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    static func page(title: String, body: String, live: Bool = true) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title><style>\(css)</style></head>
        <body><header><a class="brand" href="/">\(logo) Canopy</a><span><span id="live" class="live">\(live ? "live" : "")</span>\(live ? signOut : "")</span></header>
        <main id="main">\(body)</main>\(live ? "<script>\(script)</script>" : "")</body></html>
        """
    }

    /// Ends the dashboard's session (`POST /logout`).
    static let signOut =
        "<form class=\"inline\" method=\"post\" action=\"/logout\"><button type=\"submit\">Sign out</button></form>"

    static func login(message: String?) -> String {
        page(
            title: "Canopy — sign in",
            body: """
                <section class="card narrow"><h1>Sign in</h1>
                <p>Paste the admin token (the file <code>admin.token</code> in the server's data folder).</p>
                \(message.map { "<p class=\"error\">\(escape($0))</p>" } ?? "")
                <form method="post" action="/login"><input type="password" name="token" autofocus placeholder="admin token" required>
                <button type="submit">Sign in</button></form></section>
                """, live: false)
    }

    static func statusBadge(_ status: String) -> String {
        "<span class=\"badge \(escape(status))\">\(escape(status))</span>"
    }

    static func render(
        sites: [SiteSummary], builds: [BuildRecord], edgeBase: (scheme: String, port: Int), problems: [String: String]
    ) -> String {
        var html = ""
        for (file, problem) in problems.sorted(by: { $0.key < $1.key }) {
            html +=
                "<section class=\"card error\"><h2>Refused: \(escape(file))</h2><pre>\(escape(problem))</pre></section>"
        }
        if sites.isEmpty {
            html +=
                "<section class=\"card\"><p>No sites yet: add a <code>Sites/&lt;site&gt;.yml</code> file.</p></section>"
        }
        for site in sites {
            html += "<section class=\"card site\" id=\"site-\(escape(site.name))\"><h2>\(escape(site.name))</h2>"
            html += "<p class=\"muted\">\(escape(site.repository)) · \(escape(site.file))</p>"
            html += hostnameTable(site, edgeBase: edgeBase)
            html += branchTable(site)
            html += rolloutTable(site)
            html += "</section>"
        }
        html += buildsCard(builds)
        return html
    }

    static func buildPage(_ build: BuildRecord, log: String) -> String {
        page(
            title: "Build \(build.id)",
            body: """
                <section class="card"><h1>Build \(escape(build.id)) \(statusBadge(build.status.rawValue))</h1>
                <p>\(escape(build.site)) / \(escape(build.branch)) at <code>\(escape(build.commit))</code></p>
                <p class="muted">\(escape(build.commitMessage))</p>
                \(build.error.map { "<pre class=\"error\">\(escape($0))</pre>" } ?? "")
                <pre id="log" data-build="\(escape(build.id))" data-finished="\(build.status.isFinished)">\(escape(log))</pre></section>
                """)
    }

    static func form(_ action: String, _ fields: [String: String], _ label: String, confirm: String?) -> String {
        var html =
            "<form class=\"inline\" method=\"post\" action=\"\(action)\"\(confirm.map { " data-confirm=\"\(escape($0))\"" } ?? "")>"
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            html += "<input type=\"hidden\" name=\"\(escape(name))\" value=\"\(escape(value))\">"
        }
        return html + "<button>\(escape(label))</button></form>"
    }

    static func select(_ name: String, _ options: [String], selected: Int = 0) -> String {
        "<select name=\"\(name)\">"
            + options.enumerated().map { i, o in
                "<option\(i == selected ? " selected" : "")>\(escape(o))</option>"
            }.joined() + "</select>"
    }

    /// A small tree, inline (no emoji font or external asset needed).
    static let logo =
        "<svg width=\"18\" height=\"18\" viewBox=\"0 0 24 24\" aria-hidden=\"true\" style=\"vertical-align:-3px\">"
        + "<circle cx=\"12\" cy=\"9\" r=\"7\" fill=\"#bfe3c9\"/><rect x=\"11\" y=\"13\" width=\"2\" height=\"9\" fill=\"#fff\"/></svg>"

    static let css = """
        :root{--g:#2f7d4f;--ink:#17231b;--mut:#66756b;--bg:#f4f6f2;--card:#fff;--line:#e2e7df}
        *{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--ink);background:var(--bg)}
        header{display:flex;justify-content:space-between;align-items:center;padding:.7rem 1.4rem;background:var(--g);color:#fff}
        header a{color:#fff;text-decoration:none;font-weight:700;font-size:1.1rem}.live{font-size:.8rem;opacity:.8}
        main{max-width:72rem;margin:1.2rem auto;padding:0 1rem}.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:1rem 1.2rem;margin-bottom:1rem}
        .narrow{max-width:28rem;margin:3rem auto}h1,h2,h3{margin:.2rem 0 .6rem}h3{font-size:1rem;color:var(--mut)}
        table{width:100%;border-collapse:collapse}th{text-align:left;font-weight:600;color:var(--mut);font-size:.85rem}
        td,th{padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:middle}.muted{color:var(--mut)}.small{font-size:.8rem}
        .bar{display:flex;width:100%;min-width:12rem;height:1.4rem;border-radius:6px;overflow:hidden;background:#eef1ec}
        .seg{display:block;color:#fff;font-size:.75rem;line-height:1.4rem;padding:0 .4rem;white-space:nowrap;overflow:hidden}
        .c0{background:#2f7d4f}.c1{background:#2d6cdf}.c2{background:#c0692b}.c3{background:#7b4fc0}
        .badge{display:inline-block;border-radius:999px;padding:0 .55rem;font-size:.75rem;background:#e6ebe4}
        .succeeded,.completed{background:#d6f0dd;color:#1d5b33}.failed,.rolled-back,.timed-out,.interrupted{background:#f8d9d6;color:#8a2119}
        .running,.checking,.queued{background:#dbe7fb;color:#1e4fa3}.pinned,.policy,.paused{background:#fbecd0;color:#7a4b00}
        form.inline{display:inline-block;margin:0 .15rem}button{font:inherit;font-size:.8rem;border:1px solid var(--line);background:#fff;border-radius:6px;padding:.15rem .6rem;cursor:pointer}
        button:hover{border-color:var(--g)}input[type=password]{font:inherit;padding:.4rem;width:100%;margin:.4rem 0}
        pre{background:#0f1712;color:#d7e4d9;padding:.8rem;border-radius:8px;overflow:auto;max-height:70vh;font-size:.8rem}
        .error{color:#8a2119}pre.error{color:#ffd1cc}section.error{border-color:#e8b4ae}code{font-size:.85em}
        """

    /// The CSP source of `script` (`sha256-<base64>`), so that no other script runs.
    static let scriptHash = "sha256-" + Data(SHA256.hash(data: Data(script.utf8))).base64EncodedString()

    static let script = """
        document.addEventListener('submit',e=>{const m=e.target.dataset.confirm;if(m&&!confirm(m))e.preventDefault();});
        let pending=false;async function refresh(){if(pending)return;pending=true;setTimeout(async()=>{pending=false;
        const r=await fetch(location.pathname,{headers:{'X-Canopy-Fragment':'1'}});if(r.ok){const t=await r.text();
        const m=document.getElementById('main');if(m&&!document.getElementById('log'))m.innerHTML=t;}},150);}
        const live=document.getElementById('live');
        try{const es=new EventSource('/api/v1/events');es.onopen=()=>live.textContent='● live';
        es.onerror=()=>live.textContent='○ reconnecting';
        ['build','deployment','traffic','rollout','routes','branch-deleted'].forEach(n=>es.addEventListener(n,refresh));}catch(e){}
        const log=document.getElementById('log');
        if(log&&log.dataset.finished!=='true'){(async()=>{const r=await fetch('/api/v1/builds/'+log.dataset.build+'/log?follow=1');
        const rd=r.body.getReader();const dec=new TextDecoder();log.textContent='';for(;;){const{value,done}=await rd.read();if(done)break;
        log.textContent+=dec.decode(value,{stream:true});log.scrollTop=log.scrollHeight;}setTimeout(()=>location.reload(),300);})();}
        """
}
