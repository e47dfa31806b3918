import { LabIcon } from '@jupyterlab/ui-components';

/** A data-cylinder with a spark: data next to compute. Uses jp-icon classes to follow the theme. */
const WP5_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M10 2C5.6 2 2 3.3 2 5v12c0 1.7 3.6 3 8 3 .7 0 1.4 0 2-.1v-2c-.6.1-1.3.1-2 .1-3.9 0-6-1.1-6-1.5v-2.3c1.5.8 3.7 1.2 6 1.2.7 0 1.4 0 2-.1v-2c-.6.1-1.3.1-2 .1-3.9 0-6-1.1-6-1.5V8.6C5.5 9.5 7.7 10 10 10s4.5-.5 6-1.4V11h2V5c0-1.7-3.6-3-8-3zm0 6C6.1 8 4 6.9 4 6.5S6.1 4 10 4s6 1.1 6 1.5S13.9 8 10 8z"/>
    <path d="M17 12l-4 6h3l-1 4 4-6h-3z"/>
  </g>
</svg>`;

export const wp5Icon = new LabIcon({
  name: 'jupyter-wp5:icon',
  svgstr: WP5_SVG
});
