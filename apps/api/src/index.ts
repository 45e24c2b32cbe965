export * from './app.ts';
export * from './openapi/openapi.document.ts';
export * from './options.ts';
export * from './server.ts';
