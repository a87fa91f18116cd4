// Renders /openapi.json with the vendored Swagger UI bundle (served from /docs/assets/).
(function () {
  if (!window.SwaggerUIBundle || !document.getElementById("swagger-ui")) {
    return;
  }
  window.ui = window.SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    // 1,100 operations: render a tag only when it is opened, and skip the models section.
    docExpansion: "none",
    defaultModelsExpandDepth: -1,
    filter: true,
    deepLinking: true,
    displayOperationId: true,
    // No call to the public validator service (the default would load its badge).
    validatorUrl: null,
    persistAuthorization: false,
    tryItOutEnabled: false
  });
})();
