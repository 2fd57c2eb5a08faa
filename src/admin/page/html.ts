/**
 * The admin page's document: static markup only. Everything it shows comes from app.js through the admin API
 * (docs/observability.md, "The admin page"); no inline script or style, so the CSP can forbid both.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Nix cache admin</title>
<link rel="stylesheet" href="/page/app.css">
<script type="module" src="/page/app.js"></script>
</head>
<body>
<header>
  <h1>Nix cache admin</h1>
  <div id="session" hidden><span id="whoami"></span> <button type="button" id="sign-out">Sign out</button></div>
</header>
<main>
  <section id="login">
    <h2>Sign in</h2>
    <form id="login-form">
      <label>Admin token <input type="password" id="token" autocomplete="off" required></label>
      <button type="submit">Sign in</button>
    </form>
    <p class="hint">The token is kept in this tab only (sessionStorage) and sent to this worker's API alone.</p>
    <p id="login-error" class="error" role="alert"></p>
  </section>
  <div id="app" hidden>
    <p id="notice" role="status"></p>
    <section id="lookup">
      <h2>Store path</h2>
      <form id="lookup-form">
        <input id="path" placeholder="/nix/store/&lt;hash&gt;-name, a hash or a narinfo URL" required>
        <button type="submit">Look up</button>
      </form>
      <div id="path-result"></div>
      <div id="confirm" class="confirm" hidden></div>
    </section>
    <section id="metrics">
      <h2>Traffic</h2>
      <form id="metrics-form">
        <label>Last <select id="hours"><option value="6">6 hours</option><option value="24">24 hours</option>
          <option value="72">3 days</option></select></label>
        <button type="submit">Refresh</button>
      </form>
      <div id="charts"></div>
    </section>
    <section id="health">
      <h2>Health</h2>
      <button type="button" id="health-check">Check now</button>
      <div id="health-result"></div>
    </section>
    <section id="audit">
      <h2>Audit log</h2>
      <form id="audit-form">
        <select id="audit-action">
          <option value="">any action</option><option>purge</option><option>block</option><option>unblock</option>
          <option>delete</option><option>hook</option>
        </select>
        <input id="audit-actor" placeholder="actor (token id)">
        <button type="submit">Filter</button>
      </form>
      <table id="audit-table">
        <thead>
          <tr><th>#</th><th>time</th><th>actor</th><th>action</th><th>result</th><th>status</th><th>paths</th></tr>
        </thead>
        <tbody></tbody>
      </table>
      <button type="button" id="audit-more" hidden>Older entries</button>
    </section>
  </div>
</main>
</body>
</html>
`;
