// The replay page's version slider: shows the version while it moves, opens it when released (the Show button does
// the same without JavaScript).
document.addEventListener("DOMContentLoaded", () => {
  const slider = document.getElementById("version");
  if (!slider) return;
  const output = slider.form.querySelector("output");
  slider.addEventListener("input", () => {
    output.value = slider.value;
    slider.setAttribute("aria-valuetext", `version ${slider.value} of ${slider.max}`);
  });
  slider.addEventListener("change", () => slider.form.requestSubmit());
});
