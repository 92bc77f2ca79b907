// Marks the page as scripted so a browser test can tell the asset loaded.
document.documentElement.dataset.canopy = "ready";
