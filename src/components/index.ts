export * from './DataSection';
export * from './DatasetDetails';
export * from './ErrorBanner';
export * from './format';
export * from './ResultList';
export * from './SearchBox';
export * from './WindowedList';
