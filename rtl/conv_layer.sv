// SPDX-License-Identifier: Apache-2.0
// Event-driven convolution layer engine: spike map in, weights and thresholds, spike map out.

`default_nettype none

module conv_layer #(
  parameter int Lanes     = 8,    // output channels computed in parallel (one group), >= 1
  parameter int MaxCin    = 64,   // input spike word bits (and 8 x pixel channels), 8 .. 512
  parameter int MaxCout   = 64,   // output spike word bits, a multiple of Lanes, <= 512
  parameter int MaxH      = 16,   // largest input map height, 2 .. 32
  parameter int MaxW      = 16,   // largest input map width, 2 .. 32
  parameter int AccW      = 16,   // signed accumulator bits, 12 .. 32
  parameter int WDepth    = 512,  // weight rows (groups x cin), >= 2
  parameter int FifoDepth = 4,    // partial-sum FIFO entries, >= 2
  localparam int YW = $clog2(MaxH),
  localparam int XW = $clog2(MaxW),
  localparam int PosW = YW + XW,
  localparam int ChW = $clog2(MaxCin),
  localparam int WAW = $clog2(WDepth),
  localparam int Groups = MaxCout / Lanes,
  localparam int GW = (Groups > 1) ? $clog2(Groups) : 1,
  localparam int LW = Lanes * AccW,
  localparam int PsW = 9 * LW,
  localparam int RowW = 9 * Lanes * 8,
  localparam int DescW = 40
) (
  input  wire logic               clk_i,
  input  wire logic               rst_i,          // synchronous, active high
  // Layer descriptor (see docs/architecture.md); taken when idle, rewinds every load pointer
  input  wire logic               cfg_valid_i,
  output logic                    cfg_ready_o,
  input  wire logic [DescW-1:0]   cfg_data_i,
  // Input map, one word per position in raster order (pixel mode: byte c = pixel channel c)
  input  wire logic               in_valid_i,
  output logic                    in_ready_o,
  input  wire logic [MaxCin-1:0]  in_data_i,
  // Weight rows in order group, input channel; bits [(k*Lanes+l)*8 +: 8], k = ky*3 + kx
  input  wire logic               w_valid_i,
  output logic                    w_ready_o,
  input  wire logic [RowW-1:0]    w_data_i,
  // Threshold rows, one per group; bits [l*AccW +: AccW] for lane l
  input  wire logic               th_valid_i,
  output logic                    th_ready_o,
  input  wire logic [LW-1:0]      th_data_i,
  // Residual map (output shape, raster order), written into the output map
  input  wire logic               res_valid_i,
  output logic                    res_ready_o,
  input  wire logic [MaxCout-1:0] res_data_i,
  // Start the layer
  input  wire logic               start_valid_i,
  output logic                    start_ready_o,
  // Output map, raster order, last flag on the final word
  output logic                    out_valid_o,
  input  wire logic               out_ready_i,
  output logic      [MaxCout-1:0] out_data_o,
  output logic                    out_last_o,
  // Status and performance counters of the last layer (stable once done_o has pulsed)
  output logic                    busy_o,
  output logic                    done_o,         // pulse: computation finished, unload begins
  output logic      [31:0]        perf_cycles_o,  // start to done
  output logic      [31:0]        perf_events_o,  // address events of the input map
  output logic      [31:0]        perf_active_o,  // input positions with at least one spike
  output logic      [31:0]        perf_stall_o,   // cycles the weight stage waited on the FIFO
  output logic      [31:0]        perf_fwd_o      // membrane updates that used forwarding
);

  localparam int QYW = ((MaxH + 2) / 3 > 1) ? $clog2((MaxH + 2) / 3) : 1;
  localparam int QXW = ((MaxW + 2) / 3 > 1) ? $clog2((MaxW + 2) / 3) : 1;
  localparam int BAW = QYW + QXW;
  localparam logic [BAW-1:0] LastBankAddr = '1;
  localparam logic [31:0] LanesU = Lanes;
  localparam logic [31:0] WDepthU = WDepth;

  typedef enum logic [2:0] {
    SIdle,
    SClear,
    SScan,
    SFire,
    SUnload
  } state_e;

  state_e state_q;

  // ---------------------------------------------------------------------------------------------
  // Descriptor
  // ---------------------------------------------------------------------------------------------
  logic [9:0] cin_q, cout_q;
  logic [5:0] h_q, w_q;
  logic       k3_q, s2_q, pool_q, res_q, pix_q;
  logic [5:0] ho, wo, hp, wp;

  assign ho = s2_q ? ((h_q + 6'd1) >> 1) : h_q;
  assign wo = s2_q ? ((w_q + 6'd1) >> 1) : w_q;
  assign hp = pool_q ? (ho >> 1) : ho;
  assign wp = pool_q ? (wo >> 1) : wo;

  logic cfg_fire, start_fire;
  assign cfg_ready_o   = (state_q == SIdle);
  assign start_ready_o = (state_q == SIdle);
  assign cfg_fire      = cfg_valid_i & cfg_ready_o;
  assign start_fire    = start_valid_i & start_ready_o;

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      cin_q  <= 10'd1;
      cout_q <= 10'd1;
      h_q    <= 6'd1;
      w_q    <= 6'd1;
      k3_q   <= 1'b0;
      s2_q   <= 1'b0;
      pool_q <= 1'b0;
      res_q  <= 1'b0;
      pix_q  <= 1'b0;
    end else if (cfg_fire) begin
      cin_q  <= cfg_data_i[9:0];
      cout_q <= cfg_data_i[19:10];
      h_q    <= cfg_data_i[25:20];
      w_q    <= cfg_data_i[31:26];
      k3_q   <= cfg_data_i[32];
      s2_q   <= cfg_data_i[33];
      pool_q <= cfg_data_i[34];
      res_q  <= cfg_data_i[35];
      pix_q  <= cfg_data_i[36];
    end
  end

  // Output words hold only the groups that exist; higher slices read as zero.
  logic [MaxCout-1:0] out_mask;
  for (genvar s = 0; s < Groups; s++) begin : g_mask
    assign out_mask[s*Lanes +: Lanes] = {Lanes{32'(cout_q) > $unsigned(s * Lanes)}};
  end

  // ---------------------------------------------------------------------------------------------
  // Loaders (idle only): input map, weights, thresholds, residual map
  // ---------------------------------------------------------------------------------------------
  logic           in_fire, w_fire, th_fire, res_fire;
  logic [5:0]     ly_q, lx_q, ry_q, rx_q;
  logic [WAW-1:0] wptr_q;
  logic [GW-1:0]  thptr_q;

  assign in_ready_o  = (state_q == SIdle);
  assign w_ready_o   = (state_q == SIdle);
  assign th_ready_o  = (state_q == SIdle);
  assign res_ready_o = (state_q == SIdle);
  assign in_fire  = in_valid_i & in_ready_o;
  assign w_fire   = w_valid_i & w_ready_o;
  assign th_fire  = th_valid_i & th_ready_o;
  assign res_fire = res_valid_i & res_ready_o;

  always_ff @(posedge clk_i) begin
    if (rst_i || cfg_fire) begin
      ly_q    <= '0;
      lx_q    <= '0;
      ry_q    <= '0;
      rx_q    <= '0;
      wptr_q  <= '0;
      thptr_q <= '0;
    end else begin
      if (in_fire) begin
        if (lx_q == w_q - 6'd1) begin
          lx_q <= '0;
          ly_q <= ly_q + 6'd1;
        end else begin
          lx_q <= lx_q + 6'd1;
        end
      end
      if (res_fire) begin
        if (rx_q == wp - 6'd1) begin
          rx_q <= '0;
          ry_q <= ry_q + 6'd1;
        end else begin
          rx_q <= rx_q + 6'd1;
        end
      end
      if (w_fire) wptr_q <= wptr_q + 1'b1;
      if (th_fire) thptr_q <= thptr_q + 1'b1;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Group sequencing
  // ---------------------------------------------------------------------------------------------
  logic [GW-1:0]    grp_q;
  logic [WAW-1:0]   wbase_q;
  logic [10:0]      rem_q;       // output channels from this group on
  logic [Lanes-1:0] lane_valid;
  logic [BAW-1:0]   clr_cnt_q;
  logic             fire_start, fire_done, fire_busy, scan_idle, last_group;

  always_comb begin
    for (int l = 0; l < Lanes; l++) lane_valid[l] = 32'(rem_q) > $unsigned(l);
  end
  assign last_group = 32'(rem_q) <= $unsigned(Lanes);

  // ---------------------------------------------------------------------------------------------
  // Scanner: reads one input word per position into the event filter
  // ---------------------------------------------------------------------------------------------
  logic [5:0]          sy_q, sx_q, step, nx, ny;
  logic                scan_end_q, rd_valid_q, issue;
  logic [PosW-1:0]     rd_pos_q;
  logic [MaxCin-1:0]   in_rdata;
  logic                word_ready, word_take;

  // A 1x1 stride-2 layer never uses odd rows or columns, so they are skipped.
  assign step  = (~k3_q & s2_q) ? 6'd2 : 6'd1;
  assign nx    = sx_q + step;
  assign ny    = sy_q + step;
  assign issue = (state_q == SScan) & ~scan_end_q & (~rd_valid_q | word_ready);
  assign word_take = rd_valid_q & word_ready;

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      rd_valid_q <= 1'b0;
    end else begin
      rd_valid_q <= issue | (rd_valid_q & ~word_ready);
    end
  end

  always_ff @(posedge clk_i) begin
    if (start_fire || (state_q == SFire && fire_done)) begin
      sy_q       <= '0;
      sx_q       <= '0;
      scan_end_q <= 1'b0;
    end else if (issue) begin
      if (nx >= w_q) begin
        sx_q <= '0;
        sy_q <= ny;
        if (ny >= h_q) scan_end_q <= 1'b1;
      end else begin
        sx_q <= nx;
      end
    end
    if (issue) rd_pos_q <= {sy_q[YW-1:0], sx_q[XW-1:0]};
  end

  conv_sdp_ram #(
    .Width (MaxCin),
    .Depth (2 ** PosW),
    .Slices(1)
  ) u_in_map (
    .clk_i  (clk_i),
    .we_i   (in_fire),
    .waddr_i({ly_q[YW-1:0], lx_q[XW-1:0]}),
    .wdata_i(in_data_i),
    .re_i   (issue),
    .raddr_i({sy_q[YW-1:0], sx_q[XW-1:0]}),
    .rdata_o(in_rdata)
  );

  // ---------------------------------------------------------------------------------------------
  // Event filter, weight stage, partial-sum FIFO, membranes
  // ---------------------------------------------------------------------------------------------
  logic            ev_valid, ev_ready, ev_last;
  logic [ChW-1:0]  ev_ch;
  logic [PosW-1:0] ev_pos;

  event_filter #(
    .Channels(MaxCin),
    .PosW    (PosW)
  ) u_filter (
    .clk_i       (clk_i),
    .rst_i       (rst_i),
    .word_valid_i(rd_valid_q),
    .word_ready_o(word_ready),
    .word_i      (in_rdata),
    .word_pos_i  (rd_pos_q),
    .ev_valid_o  (ev_valid),
    .ev_ready_i  (ev_ready),
    .ev_ch_o     (ev_ch),
    .ev_pos_o    (ev_pos),
    .ev_last_o   (ev_last)
  );

  logic            ps_valid, ps_ready, ws_busy;
  logic [PosW-1:0] ps_pos;
  logic [PsW-1:0]  ps_data;

  conv_weight_stage #(
    .Lanes (Lanes),
    .MaxCin(MaxCin),
    .AccW  (AccW),
    .WDepth(WDepth),
    .PosW  (PosW)
  ) u_weight (
    .clk_i     (clk_i),
    .rst_i     (rst_i),
    .wl_we_i   (w_fire),
    .wl_addr_i (wptr_q),
    .wl_data_i (w_data_i),
    .pixel_i   (pix_q),
    .wbase_i   (wbase_q),
    .ev_valid_i(ev_valid),
    .ev_ready_o(ev_ready),
    .ev_ch_i   (ev_ch),
    .ev_pos_i  (ev_pos),
    .ev_last_i (ev_last),
    .busy_o    (ws_busy),
    .ps_valid_o(ps_valid),
    .ps_ready_i(ps_ready),
    .ps_pos_o  (ps_pos),
    .ps_data_o (ps_data)
  );

  localparam int FifoLW = $clog2(FifoDepth + 1);
  logic              up_valid, up_ready, fifo_empty, fifo_full;
  logic [FifoLW-1:0] fifo_level;
  logic [PosW-1:0]   up_pos;
  logic [PsW-1:0]    up_data;

  elastic_fifo #(
    .Width(PosW + PsW),
    .Depth(FifoDepth)
  ) u_psum_fifo (
    .clk_i  (clk_i),
    .rst_i  (rst_i),
    .valid_i(ps_valid),
    .ready_o(ps_ready),
    .data_i ({ps_pos, ps_data}),
    .valid_o(up_valid),
    .ready_i(up_ready),
    .data_o ({up_pos, up_data}),
    .level_o(fifo_level),
    .full_o (fifo_full),
    .empty_o(fifo_empty)
  );

  logic           m_busy, m_fwd;
  logic           mrd_en, mclr_en, clr_en, clr_all;
  logic [3:0]     mrd_bank, mclr_bank;
  logic [BAW-1:0] mrd_addr, mclr_addr, clr_addr;
  logic [LW-1:0]  mrd_data;

  assign clr_en   = (state_q == SClear) | mclr_en;
  assign clr_all  = (state_q == SClear);
  assign clr_addr = (state_q == SClear) ? clr_cnt_q : mclr_addr;

  membrane_array #(
    .Lanes(Lanes),
    .AccW (AccW),
    .MaxH (MaxH),
    .MaxW (MaxW)
  ) u_membrane (
    .clk_i     (clk_i),
    .rst_i     (rst_i),
    .kernel3_i (k3_q),
    .stride2_i (s2_q),
    .out_h_i   (ho),
    .out_w_i   (wo),
    .up_valid_i(up_valid),
    .up_ready_o(up_ready),
    .up_pos_i  (up_pos),
    .up_data_i (up_data),
    .rd_en_i   (mrd_en),
    .rd_bank_i (mrd_bank),
    .rd_addr_i (mrd_addr),
    .rd_data_o (mrd_data),
    .clr_en_i  (clr_en),
    .clr_all_i (clr_all),
    .clr_bank_i(mclr_bank),
    .clr_addr_i(clr_addr),
    .busy_o    (m_busy),
    .fwd_o     (m_fwd)
  );

  assign scan_idle = scan_end_q & ~rd_valid_q & ~ev_valid & ~ws_busy & fifo_empty & ~m_busy;
  assign fire_start = (state_q == SScan) & scan_idle;

  // ---------------------------------------------------------------------------------------------
  // Thresholds, fire stage and the output map
  // ---------------------------------------------------------------------------------------------
  logic [LW-1:0] thr;

  conv_sdp_ram #(
    .Width (LW),
    .Depth ((Groups > 1) ? Groups : 2),
    .Slices(1)
  ) u_thr (
    .clk_i  (clk_i),
    .we_i   (th_fire),
    .waddr_i(thptr_q),
    .wdata_i(th_data_i),
    .re_i   (1'b1),
    .raddr_i(grp_q),
    .rdata_o(thr)
  );

  logic                ord_en, owr_en;
  logic [PosW-1:0]     ord_addr, owr_addr;
  logic [Lanes-1:0]    owr_data, ord_slice;
  logic [MaxCout-1:0]  out_rdata;
  logic [Groups-1:0]   out_we;
  logic [PosW-1:0]     out_waddr, out_raddr;
  logic [MaxCout-1:0]  out_wdata;
  logic                out_re;

  spike_fire #(
    .Lanes(Lanes),
    .AccW (AccW),
    .MaxH (MaxH),
    .MaxW (MaxW)
  ) u_fire (
    .clk_i       (clk_i),
    .rst_i       (rst_i),
    .start_i     (fire_start),
    .pool_i      (pool_q),
    .residual_i  (res_q),
    .out_h_i     (ho),
    .out_w_i     (wo),
    .lane_valid_i(lane_valid),
    .thr_i       (thr),
    .busy_o      (fire_busy),
    .done_o      (fire_done),
    .mrd_en_o    (mrd_en),
    .mrd_bank_o  (mrd_bank),
    .mrd_addr_o  (mrd_addr),
    .mrd_data_i  (mrd_data),
    .mclr_en_o   (mclr_en),
    .mclr_bank_o (mclr_bank),
    .mclr_addr_o (mclr_addr),
    .ord_en_o    (ord_en),
    .ord_addr_o  (ord_addr),
    .ord_data_i  (ord_slice),
    .owr_en_o    (owr_en),
    .owr_addr_o  (owr_addr),
    .owr_data_o  (owr_data)
  );

  logic [Lanes-1:0] out_slices [Groups];
  for (genvar s = 0; s < Groups; s++) begin : g_slice
    assign out_slices[s] = out_rdata[s*Lanes +: Lanes];
  end
  assign ord_slice = out_slices[grp_q];

  // Unloader
  localparam int OutDepth = 4;
  localparam int OutLW = $clog2(OutDepth + 1);
  logic [5:0]       uy_q, ux_q;
  logic             un_end_q, un_issue, inflight_q, inflight_last_q, un_last;
  logic [OutLW-1:0] out_level;
  logic             out_fifo_ready, out_full, out_empty;

  assign un_last  = (uy_q == hp - 6'd1) & (ux_q == wp - 6'd1);
  assign un_issue = (state_q == SUnload) & ~un_end_q
                  & ((32'(out_level) + 32'(inflight_q)) < $unsigned(OutDepth));

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      inflight_q <= 1'b0;
    end else begin
      inflight_q <= un_issue;
    end
  end

  always_ff @(posedge clk_i) begin
    if (state_q == SFire && fire_done && last_group) begin
      uy_q     <= '0;
      ux_q     <= '0;
      un_end_q <= (hp == '0) | (wp == '0);
    end else if (un_issue) begin
      if (un_last) un_end_q <= 1'b1;
      if (ux_q == wp - 6'd1) begin
        ux_q <= '0;
        uy_q <= uy_q + 6'd1;
      end else begin
        ux_q <= ux_q + 6'd1;
      end
    end
    if (un_issue) inflight_last_q <= un_last;
  end

  always_comb begin
    out_we    = '0;
    out_waddr = owr_addr;
    out_wdata = {Groups{owr_data}};
    if (state_q == SIdle) begin
      out_we    = {Groups{res_fire}};
      out_waddr = {ry_q[YW-1:0], rx_q[XW-1:0]};
      out_wdata = res_data_i;
    end else if (owr_en) begin
      out_we[grp_q] = 1'b1;
    end
  end

  assign out_re    = ord_en | un_issue;
  assign out_raddr = (state_q == SUnload) ? {uy_q[YW-1:0], ux_q[XW-1:0]} : ord_addr;

  conv_sdp_ram #(
    .Width (MaxCout),
    .Depth (2 ** PosW),
    .Slices(Groups)
  ) u_out_map (
    .clk_i  (clk_i),
    .we_i   (out_we),
    .waddr_i(out_waddr),
    .wdata_i(out_wdata),
    .re_i   (out_re),
    .raddr_i(out_raddr),
    .rdata_o(out_rdata)
  );

  elastic_fifo #(
    .Width(MaxCout + 1),
    .Depth(OutDepth)
  ) u_out_fifo (
    .clk_i  (clk_i),
    .rst_i  (rst_i),
    .valid_i(inflight_q),
    .ready_o(out_fifo_ready),
    .data_i ({inflight_last_q, out_rdata & out_mask}),
    .valid_o(out_valid_o),
    .ready_i(out_ready_i),
    .data_o ({out_last_o, out_data_o}),
    .level_o(out_level),
    .full_o (out_full),
    .empty_o(out_empty)
  );

  // ---------------------------------------------------------------------------------------------
  // Control
  // ---------------------------------------------------------------------------------------------
  // The fire pass clears every membrane word of the layer's output map as it reads it and
  // updates never reach beyond that map, so the banks only need clearing once after reset.
  logic clean_q;
  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      clean_q <= 1'b0;
    end else if (state_q == SClear && clr_cnt_q == LastBankAddr) begin
      clean_q <= 1'b1;
    end
  end

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      state_q <= SIdle;
    end else begin
      case (state_q)
        SIdle:   if (start_fire) state_q <= clean_q ? SScan : SClear;
        SClear:  if (clr_cnt_q == LastBankAddr) state_q <= SScan;
        SScan:   if (fire_start) state_q <= SFire;
        SFire:   if (fire_done) state_q <= last_group ? SUnload : SScan;
        SUnload: if (un_end_q && !inflight_q && out_empty) state_q <= SIdle;
        default: state_q <= SIdle;
      endcase
    end
  end

  always_ff @(posedge clk_i) begin
    if (rst_i || start_fire) begin
      clr_cnt_q <= '0;
      grp_q     <= '0;
      wbase_q   <= '0;
      rem_q     <= {1'b0, cout_q};
    end else begin
      if (state_q == SClear) clr_cnt_q <= clr_cnt_q + 1'b1;
      if (state_q == SFire && fire_done && !last_group) begin
        grp_q   <= grp_q + 1'b1;
        wbase_q <= wbase_q + WAW'(cin_q);
        rem_q   <= rem_q - 11'($unsigned(Lanes));
      end
    end
  end

  // Performance counters
  logic [31:0] cyc_q, evt_q, act_q, stall_q, fwd_q;
  always_ff @(posedge clk_i) begin
    if (rst_i || start_fire) begin
      cyc_q   <= '0;
      evt_q   <= '0;
      act_q   <= '0;
      stall_q <= '0;
      fwd_q   <= '0;
    end else begin
      if (state_q == SClear || state_q == SScan || state_q == SFire) cyc_q <= cyc_q + 1'b1;
      if (grp_q == '0 && ev_valid && ev_ready) evt_q <= evt_q + 1'b1;
      if (grp_q == '0 && word_take && in_rdata != '0) act_q <= act_q + 1'b1;
      if (ps_valid && !ps_ready) stall_q <= stall_q + 1'b1;
      if (m_fwd) fwd_q <= fwd_q + 1'b1;
    end
  end

  assign perf_cycles_o = cyc_q;
  assign perf_events_o = evt_q;
  assign perf_active_o = act_q;
  assign perf_stall_o  = stall_q;
  assign perf_fwd_o    = fwd_q;
  assign busy_o        = (state_q != SIdle);
  assign done_o        = (state_q == SFire) & fire_done & last_group;

`ifndef SYNTHESIS
  initial begin
    if (Lanes < 1) $fatal(1, "conv_layer: Lanes must be >= 1");
    if (MaxCout % Lanes != 0 || MaxCout > 512) begin
      $fatal(1, "conv_layer: MaxCout (%0d) must be a multiple of Lanes (%0d), <= 512",
             MaxCout, Lanes);
    end
    if (MaxCin < 8 || MaxCin > 512) $fatal(1, "conv_layer: MaxCin must be 8..512");
    if (MaxH < 2 || MaxH > 32 || MaxW < 2 || MaxW > 32) $fatal(1, "conv_layer: MaxH/MaxW 2..32");
  end

  always @(posedge clk_i) begin
    if (!rst_i) begin
      if (cfg_fire) begin
        assert (cfg_data_i[9:0] != '0 && 32'(cfg_data_i[9:0]) <= $unsigned(MaxCin))
          else $fatal(1, "conv_layer: cin %0d outside 1..%0d", cfg_data_i[9:0], MaxCin);
        assert (!cfg_data_i[36] || 32'(cfg_data_i[9:0]) * 8 <= $unsigned(MaxCin))
          else $fatal(1, "conv_layer: pixel mode needs 8 x cin <= MaxCin");
        assert (cfg_data_i[19:10] != '0 && 32'(cfg_data_i[19:10]) <= $unsigned(MaxCout))
          else $fatal(1, "conv_layer: cout %0d outside 1..%0d", cfg_data_i[19:10], MaxCout);
        assert (cfg_data_i[25:20] != '0 && 32'(cfg_data_i[25:20]) <= $unsigned(MaxH))
          else $fatal(1, "conv_layer: height %0d outside 1..%0d", cfg_data_i[25:20], MaxH);
        assert (cfg_data_i[31:26] != '0 && 32'(cfg_data_i[31:26]) <= $unsigned(MaxW))
          else $fatal(1, "conv_layer: width %0d outside 1..%0d", cfg_data_i[31:26], MaxW);
        assert (cfg_data_i[39:37] == '0) else $fatal(1, "conv_layer: reserved descriptor bits set");
      end
      if (start_fire) begin
        assert (32'(cin_q) * ((32'(cout_q) + LanesU - 32'd1) / LanesU) <= WDepthU)
          else $fatal(1, "conv_layer: %0d weight rows needed, WDepth is %0d",
                      32'(cin_q) * ((32'(cout_q) + LanesU - 32'd1) / LanesU), WDepth);
        assert (!pool_q || (hp != '0 && wp != '0))
          else $fatal(1, "conv_layer: pooling a map smaller than 2x2");
      end
      if (in_fire) assert (ly_q < h_q)
        else $fatal(1, "conv_layer: more input words than positions");
      if (res_fire) begin
        assert (ry_q < hp) else $fatal(1, "conv_layer: more residual words than output positions");
      end
      if (w_fire) begin
        assert (32'(wptr_q) < $unsigned(WDepth))
          else $fatal(1, "conv_layer: weight RAM overflow");
      end
      if (th_fire) begin
        assert (32'(thptr_q) < $unsigned(Groups))
          else $fatal(1, "conv_layer: threshold RAM overflow");
      end
      assert (fifo_full == !ps_ready) else $fatal(1, "conv_layer: partial-sum FIFO flags disagree");
      assert (32'(fifo_level) <= $unsigned(FifoDepth))
        else $fatal(1, "conv_layer: FIFO level %0d", fifo_level);
      assert (out_full == !out_fifo_ready) else $fatal(1, "conv_layer: output FIFO flags disagree");
      assert (!(up_valid && fire_busy)) else $fatal(1, "conv_layer: update during the fire pass");
      assert (!(inflight_q && !out_fifo_ready)) else $fatal(1, "conv_layer: output FIFO overflow");
    end
  end
`endif

endmodule : conv_layer

`default_nettype wire
