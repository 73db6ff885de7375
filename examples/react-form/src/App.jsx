// A job-application form: the applicant's details and attachments are
// sealed in the browser to HR's public key (s3seal recipient mode) and
// uploaded through the site's presign backend. Nothing readable leaves the
// browser, and the applicant keeps a receipt (object name and SHA-256 of
// each file); HR opens the uploads with `s3seal pull --identity`.
import "@uppy/core/css/style.min.css";
import "@uppy/dashboard/css/style.min.css";

import Uppy from "@uppy/core";
import Dashboard from "@uppy/react/dashboard";
import { useEffect, useState } from "react";
import S3sealUpload from "s3seal/uppy";

/** HR's public key: from the backend (`s3seal serve --recipient`). */
async function recipient() {
  const config = await (await fetch("/api/config")).json();
  if (!config.recipient) throw new Error("the backend is not an upload form (start it with --recipient)");
  return config.recipient;
}

export function App() {
  const [uppy, setUppy] = useState(null);
  const [error, setError] = useState(null);
  const [receipts, setReceipts] = useState(null);
  const [form, setForm] = useState({ name: "", email: "", position: "" });

  useEffect(() => {
    let made;
    recipient()
      .then((hr) => {
        made = new Uppy({ autoProceed: false, restrictions: { maxNumberOfFiles: 10 } }).use(S3sealUpload, {
          recipient: hr,
          endpoint: "/api/presign",
        });
        made.on("complete", (result) => {
          setReceipts(result.successful.map((f) => ({ file: f.name, ...f.response.body })));
        });
        setUppy(made);
      })
      .catch((e) => setError(String(e.message ?? e)));
    return () => made?.destroy();
  }, []);

  const submit = async (event) => {
    event.preventDefault();
    // The details travel as one more sealed file.
    const details = new Blob([JSON.stringify(form, null, 2)], { type: "application/json" });
    if (!uppy.getFiles().some((f) => f.name === "application.json")) {
      uppy.addFile({ name: "application.json", type: "application/json", data: details, source: "form" });
    }
    await uppy.upload();
  };

  const field = (key, label, type = "text") => (
    <label>
      {label}
      <input id={key} type={type} required value={form[key]} onChange={(e) => setForm({ ...form, [key]: e.target.value })} />
    </label>
  );

  if (error) return <p id="error">{error}</p>;
  if (!uppy) return <p>Loading…</p>;
  return (
    <main>
      <h1>Apply</h1>
      <p>Your documents are sealed in this browser to HR's key before they are sent: nobody else, not even this website, can read them.</p>
      <form onSubmit={submit}>
        {field("name", "Name")}
        {field("email", "Email", "email")}
        {field("position", "Position")}
        <Dashboard uppy={uppy} hideUploadButton proudlyDisplayPoweredByUppy={false} height={320} />
        <button id="submit" type="submit">
          Seal and send
        </button>
      </form>
      {receipts && (
        <section>
          <h2>Receipt</h2>
          <pre id="receipts">{JSON.stringify(receipts, null, 2)}</pre>
        </section>
      )}
    </main>
  );
}
