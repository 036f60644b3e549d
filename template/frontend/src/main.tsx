import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { PROJECT_NAME } from "./generated/entities";
import "./index.css";

document.title = PROJECT_NAME;

const root = document.getElementById("root");
if (root === null) throw new Error("index.html has no #root element");
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
