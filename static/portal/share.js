// The referral page's share button: the phone's share sheet where there is one, else copy the message.
document.addEventListener("click", (event) => {
  const button = event.target.closest("#share-button");
  if (!button) return;
  const text = button.dataset.share;
  if (navigator.share) {
    navigator.share({ text }).catch(() => {});
    return;
  }
  const done = () => { button.textContent = button.dataset.copied; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => {});
  } else {
    const area = document.getElementById("share-text");
    area.select();
    document.execCommand("copy");
    done();
  }
});
