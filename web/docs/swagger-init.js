// Starts Swagger UI on the Worker's /docs page (worker/src/docs.rs): it renders /openapi.json,
// and "Try it out" sends requests to this same origin. The library is served from
// /docs/vendor/ (scripts/setup.sh copies it there from the swagger-ui-dist npm package).
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  deepLinking: true,
  displayRequestDuration: true,
  // No request to the public validator (validator.swagger.io): nothing leaves this origin.
  validatorUrl: null,
});
