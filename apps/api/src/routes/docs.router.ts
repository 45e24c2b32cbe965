import { createRequire } from 'node:module';
import path from 'node:path';

import { Router } from 'express';

import { openApiDocument } from '../openapi/openapi.document.ts';

const SWAGGER_UI_DIR = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

// Only the files the page needs: the package also ships a demo page that loads a remote document.
const ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png', 'favicon-16x16.png']);

// The page may load and call nothing but this service.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Booking service API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" sizes="32x32" href="/docs/favicon-32x32.png">
  <link rel="icon" type="image/png" sizes="16x16" href="/docs/favicon-16x16.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-initializer.js"></script>
</body>
</html>
`;

// validatorUrl: null keeps Swagger UI from sending the document to its public validator.
const INITIALIZER = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    displayOperationId: true,
    defaultModelsExpandDepth: 1,
  });
});
`;

/** `GET /openapi.json` (the OpenAPI 3.1 document) and `GET /docs` (Swagger UI, served from node_modules). */
export function docsRouter(): Router {
  const router = Router();

  router.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });

  router.get('/docs', (_req, res) => {
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    res.type('html').send(PAGE);
  });

  router.get('/docs/swagger-initializer.js', (_req, res) => {
    res.type('js').send(INITIALIZER);
  });

  router.get('/docs/:asset', (req, res, next) => {
    const { asset } = req.params;
    if (!ASSETS.has(asset)) {
      next();
      return;
    }
    res.sendFile(asset, { root: SWAGGER_UI_DIR, maxAge: '1h' }, (err) => {
      if (err) next(err);
    });
  });

  return router;
}
